"""The directory's type vocabularies as one BMLT server's formats.

A BMLT server has one format list, keyed by `key_string`, with language-neutral
`world_id`s. Here each fellowship's codes become formats: types that share a
key and a world id (Women is `W` in all three fellowships) are one format;
a key another format already holds with another meaning (Al-Anon's `Y`,
Alateen, against NA's `Y`, Young People) gets the fellowship as a suffix.
Language types are keyed by their ISO code in capitals (`ES`), as BMLT
servers key their alternate-language formats, so a BMLT reader knows the
language. A format's id is the smallest id of its types: stable while the
vocabulary stands.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import router

from fellowships.models import MeetingType
from fellowships.vocabularies import bmlt_world_id
from meetings.directory_version import kept_per_version
from meetings.keywords import language_named, language_types

# NA first: BMLT is NA's format, its keys win a clash.
FELLOWSHIP_ORDER = {"na": 0, "aa": 1, "al-anon": 2}
# Meeting format, location, common needs; a root server files languages under FC3 too.
FORMAT_TYPE_ENUM = {"format": "FC1", "attendance": "FC2", "feature": "FC3", "language": "FC3"}


@dataclass
class ServerFormat:
    id: int
    key_string: str
    world_id: str
    format_type_enum: str
    names: dict[str, str]  # language -> name
    type_ids: set[int] = field(default_factory=set)
    language: str = ""  # the language a language format names

    def name(self, lang: str) -> str:
        return self.names.get(lang) or self.names["en"]


@dataclass
class FormatTable:
    formats: list[ServerFormat]
    by_type: dict[int, ServerFormat]
    # The type that says closed (and open) in each fellowship, for meetings closed by the fellowship's rule.
    closed_type: dict[int, int]
    open_type: dict[int, int]
    # {fellowship id: {language: the type that names it}}, for meetings in their service body's language.
    language_types: dict[int, dict[str, int]] = field(default_factory=dict)

    def by_id(self) -> dict[int, ServerFormat]:
        return {f.id: f for f in self.formats}

    def languages(self) -> set[str]:
        return {lang for f in self.formats for lang in f.names}


def format_table() -> FormatTable:
    """Every type of every fellowship as a server format, kept per directory
    version (every write to the types makes a new one): building it was about
    4-5 ms of each search (bench/README.md, round 46). Read only."""
    using = router.db_for_read(MeetingType)
    return kept_per_version("bmlt_format_table", using=using, read=lambda: _format_table(using))


def _format_table(using: str) -> FormatTable:
    types = sorted(
        MeetingType.objects.using(using).values_list("pk", "fellowship_id", "fellowship__slug", "code", "name", "kind",
                                                     "meaning", "language", "translations"),
        key=lambda t: (FELLOWSHIP_ORDER.get(t[2], 9), t[2], t[3]),
    )
    formats: dict[str, ServerFormat] = {}
    identity_of_key: dict[str, tuple] = {}
    by_type: dict[int, ServerFormat] = {}
    closed_type: dict[int, int] = {}
    open_type: dict[int, int] = {}
    for pk, fellowship_id, fellowship, code, name, kind, meaning, language, translations in types:
        world_id = bmlt_world_id(fellowship=fellowship, code=code, kind=kind)
        key = language.upper() if kind == "language" and language else code
        identity = ("lang", language) if kind == "language" and language else (
            (world_id,) if world_id else (fellowship, code))
        if key in identity_of_key and identity_of_key[key] != identity:
            key = f"{code}-{fellowship}"
        identity_of_key.setdefault(key, identity)
        server_format = formats.get(key)
        if server_format is None:
            names = {lang: text for lang, text in (translations or {}).items() if isinstance(text, str) and text}
            names["en"] = name
            type_enum = "O" if meaning in ("open", "closed") else FORMAT_TYPE_ENUM.get(kind, "FC1")
            server_format = formats[key] = ServerFormat(pk, key, world_id, type_enum, names,
                                                        language=language_named(kind, language))
        server_format.id = min(server_format.id, pk)
        server_format.type_ids.add(pk)
        by_type[pk] = server_format
        if meaning == "closed":
            closed_type.setdefault(fellowship_id, pk)
        elif meaning == "open":
            open_type.setdefault(fellowship_id, pk)
    ordered = sorted(formats.values(), key=lambda f: f.id)
    return FormatTable(ordered, by_type, closed_type, open_type,
                       language_types((pk, fellowship_id, kind, language)
                                      for pk, fellowship_id, _, _, _, kind, _, language, _ in types))


def format_record(server_format: ServerFormat, *, lang: str, root: str) -> dict:
    """A format as `GetFormats` writes it: every value a string."""
    name = server_format.name(lang)
    return {
        "key_string": server_format.key_string,
        "name_string": name,
        "description_string": name,
        "lang": lang if lang in server_format.names else "en",
        "id": str(server_format.id),
        "world_id": server_format.world_id,
        "format_type_enum": server_format.format_type_enum,
        "root_server_uri": root,
    }
