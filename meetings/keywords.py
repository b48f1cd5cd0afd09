"""Keyword search (`q`): every word must appear, folded for case and accents
("Rendicion" finds "Rendición"), in a meeting's name, group, notes, venue,
address, city or the name of one of its types ("women" finds type W).

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


def keyword_condition(word: str) -> Q:
    """Meetings in whose text or type names `word` appears, folded."""
    word = fold(word)
    named_type = Meeting.types.through.objects.filter(meeting_id=OuterRef("pk"),
                                                      meetingtype__name__unaccent__icontains=word)
    condition = Q(Exists(named_type))
    for path in MEETING_TEXT:
        condition |= Q(**{f"{path}__unaccent__icontains": word})
    return condition
