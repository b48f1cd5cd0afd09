"""Keyword search (`q`): every word must appear, folded for case and accents
("Rendicion" finds "Rendición"), in a meeting's name, group, notes, venue,
address, city or the name of one of its types, in English or in a language
the vocabularies translate it to ("women" and "mujeres" find type W, in every
fellowship whose W is Women).

Both databases fold the same way: PostgreSQL with its `unaccent` extension
(migration 0007), SQLite with `fold` registered as its UNACCENT function."""

from __future__ import annotations

import unicodedata

from django.db.models import CharField, Exists, OuterRef, Q, TextField, Transform

from meetings.models import Meeting


def fold(text: str) -> str:
    """Text without accents (decomposed, combining marks dropped), lower-cased."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


class Unaccent(Transform):
    lookup_name = "unaccent"
    function = "UNACCENT"


CharField.register_lookup(Unaccent)
TextField.register_lookup(Unaccent)


def register_sqlite_unaccent(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("UNACCENT", 1, lambda text: fold(text) if text is not None else None,
                                              deterministic=True)


MEETING_TEXT = ("name", "group", "notes", "location__name", "location__formatted_address", "location__city")


def type_names(*, using: str) -> tuple[tuple[int, str], ...]:
    """(type id, its names folded and joined): its own name, its own
    translations and those other vocabularies give the same English name (NA's
    "Women" is AA's "Mujeres", as the pages show it); kept per directory version."""
    from fellowships.models import MeetingType
    from meetings.directory_version import kept_per_version

    def read() -> tuple[tuple[int, str], ...]:
        types = list(MeetingType.objects.using(using).values_list("id", "name", "translations"))
        by_english: dict[str, set[str]] = {}
        for _, name, translations in types:
            by_english.setdefault(name, {name}).update((translations or {}).values())
        return tuple((pk, "\n".join(fold(text) for text in sorted(by_english[name]))) for pk, name, _ in types)

    return kept_per_version("type_names", using=using, read=read)


def keyword_condition(word: str, *, using: str = "default") -> Q:
    """Meetings in whose text or type names `word` appears, folded."""
    word = fold(word)
    condition = Q()
    named = [pk for pk, names in type_names(using=using) if word in names]
    if named:
        condition |= Exists(Meeting.types.through.objects.filter(meeting_id=OuterRef("pk"), meetingtype_id__in=named))
    for path in MEETING_TEXT:
        condition |= Q(**{f"{path}__unaccent__icontains": word})
    return condition
