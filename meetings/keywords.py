"""Keyword search (`q`): every word must appear, folded for case and accents
("Rendicion" finds "Rendición"), in a meeting's name, group, notes, venue,
address, city or the name of one of its types, in English or in a language
the vocabularies translate it to ("women" and "mujeres" find type W, in every
fellowship whose W is Women).

A meeting's text (name, group, notes) and its venue's (name, address, city)
are each folded as one: MF_FOLD over the fields joined by spaces (a word has
no space, so it never matches across two fields). PostgreSQL defines MF_FOLD
over its `unaccent` extension and indexes both texts with trigrams
(migrations 0007, 0011); SQLite registers `fold` as MF_FOLD."""

from __future__ import annotations

import unicodedata

from django.db.models import Exists, Func, OuterRef, Q, TextField
from django.db.models.lookups import Contains

from meetings.models import Location, Meeting


def fold(text: str) -> str:
    """Text without accents (decomposed, combining marks dropped), lower-cased."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def register_sqlite_fold(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        for name in ("MF_FOLD", "UNACCENT"):
            connection.connection.create_function(name, 1, lambda text: fold(text) if text is not None else None,
                                                  deterministic=True)


class FoldedText(Func):
    """MF_FOLD(field || ' ' || field ...): the expression of the trigram
    indexes of migration 0011, which a query must repeat exactly to use them.
    Read row by row, its body instead, LOWER(UNACCENT(...)): the same
    folding without the call of a PL/pgSQL function for each row (~1.3x)."""

    function = "MF_FOLD"
    arg_joiner = " || ' ' || "
    output_field = TextField()

    def __init__(self, *fields: str, indexed: bool):
        super().__init__(*fields)
        if not indexed:
            self.template = "LOWER(UNACCENT(%(expressions)s))"


# The indexed texts (migration 0011), in their order there.
MEETING_TEXT = ("name", "group", "notes")
LOCATION_TEXT = ("name", "formatted_address", "city")
# pg_trgm finds a LIKE pattern by its trigrams: a shorter word has none.
TRIGRAM = 3


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


def keyword_condition(word: str, *, using: str = "default", near: bool = False) -> Q:
    """Meetings in whose text, venue's text or type names `word` appears, folded.

    Without a place, a word of TRIGRAM characters or more is looked up in the
    trigram indexes, once per search (an IN over the meetings and venues that
    have it). Otherwise each row read is checked: a shorter word has no
    trigram to look up, and a search `near` a place reads its few rows by the
    KNN scan, planned without the bitmap scans a GIN index needs
    (geo.nearest_first_plan). Row by row, a row that an earlier word already
    ruled out costs nothing more."""
    word = fold(word)
    if len(word) >= TRIGRAM and not near:
        indexed = Meeting.objects.filter(Contains(FoldedText(*MEETING_TEXT, indexed=True), word))
        venues = Location.objects.filter(Contains(FoldedText(*LOCATION_TEXT, indexed=True), word))
        condition = Q(pk__in=indexed.values("pk")) | Q(location__in=venues.values("pk"))
    else:
        condition = (Q(Contains(FoldedText(*MEETING_TEXT, indexed=False), word))
                     | Q(Contains(FoldedText(*(f"location__{path}" for path in LOCATION_TEXT), indexed=False), word)))
    named = [pk for pk, names in type_names(using=using) if word in names]
    if named:
        condition |= Exists(Meeting.types.through.objects.filter(meeting_id=OuterRef("pk"), meetingtype_id__in=named))
    return condition
