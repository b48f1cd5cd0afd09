"""Keyword search (`q`): every word must appear, folded for case and accents
("Rendicion" finds "Rendición"), in a meeting's name, group, notes, venue,
address, city or the name of one of its types as the site's pages show it,
in any of their languages (`LANGUAGES`: "women" and "mujeres" find type W, in
every fellowship whose W is Women).

All of that is one column of the meeting, `search_text`: its words, folded
here, each once, written with the meeting's other derived fields
(`services.meeting_refresh_derived` and the writes that follow a venue or a
vocabulary). A word is then one condition on the meeting row,
`search_text LIKE '%word%'`, which PostgreSQL may answer from the column's
trigram index (migration 0013) or check on the rows it reads anyway,
whichever its statistics say is cheaper: a rare word through the index, a
word in most meetings by reading in weekday order until the page is full. A
word searched for has no space, so it never matches across two words of the
text.

A search by type codes (`type`) is the same idea, exactly: a meeting's codes
are the words of `type_code_text`, and each code asked for is one condition
on the row ("has the word W"), which PostgreSQL checks on the rows it reads
or looks up in the column's trigram index, as for a keyword. So is a search
by language: the languages a meeting is held in are the words of
`language_text`, those its language types name or, naming none, its service
body's."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import reduce
from operator import or_

from django.conf import settings
from django.db.models import Q

from fellowships.models import Fellowship, MeetingType
from meetings.models import ADDRESS_PARTS, address_as_read

# What a meeting's search text is made of, in order: its own fields, its
# venue's (its name, its address as people read it, `models.address_as_read`,
# and its city), then the names of its types.
MEETING_TEXT = ("name", "group", "notes")


def fold(text: str) -> str:
    """Text without accents (decomposed, combining marks dropped), lower-cased."""
    if text.isascii():  # most of a directory's words: nothing to decompose
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def type_search_names(types: Iterable[tuple[int, str, Mapping[str, str] | None]]) -> dict[int, str]:
    """{type id: its names, folded and joined}, from every type's (id, name,
    translations): its name in each of the site's languages, its own
    translation or that of another vocabulary's type with the same English
    name (NA's "Women" is AA's "Mujeres"), as the pages show it. The
    vocabularies' other languages (Meeting Guide has nine) are no page's, and
    tripled every meeting's search text and its index."""
    types = list(types)
    languages = [code for code, _ in settings.LANGUAGES]
    by_english: dict[str, set[str]] = {}
    for _, name, translations in types:
        by_english.setdefault(name, {name}).update(
            text for language, text in (translations or {}).items() if language in languages)
    return {pk: " ".join(sorted({fold(text) for text in by_english[name]})) for pk, name, _ in types}


def type_search_names_read(*, using: str = "default") -> dict[int, str]:
    """`type_search_names` of the vocabularies as stored (one small query)."""
    return type_search_names(MeetingType.objects.using(using).values_list("id", "name", "translations"))


def type_text_sources(types: Iterable[tuple]) -> dict[str, list[str]]:
    """{type id (a JSON key): [its search names, the language it names, its
    meaning]} from every type's (id, name, translations, kind, language,
    meaning): what a meeting's search text, `language_text`, open/closed and
    attendance take from each of its types. Kept beside the directory's
    version, so a change is followed (services.type_texts_follow). Rows
    without a meaning (migration 0014, written before meanings were kept)
    give ""."""
    types = list(types)
    names = type_search_names((pk, name, translations) for pk, name, translations, *_ in types)
    return {str(pk): [names[pk], language_named(kind, language), _deriving(meaning[0] if meaning else "")]
            for pk, _, _, kind, language, *meaning in types}


def _deriving(meaning: str) -> str:
    """A type's meaning where a meeting derives something from it (open,
    closed, temporarily closed); "" for one it derives nothing from (who the
    meeting is for): marking such a type must not make every meeting that
    has it be read again."""
    derives = (MeetingType.Meaning.OPEN, MeetingType.Meaning.CLOSED, MeetingType.Meaning.TEMPORARILY_CLOSED)
    return meaning if meaning in derives else ""


# A fellowship's entry among the sources: its key, then [its default open/closed].
FELLOWSHIP_SOURCE = "fellowship:"


def type_text_sources_read(*, using: str = "default") -> dict[str, list[str]]:
    """`type_text_sources` of the stored types, and for each fellowship
    ("fellowship:<id>") the default open/closed its meetings take where
    their types say neither."""
    return {**type_text_sources(MeetingType.objects.using(using).values_list(
        "id", "name", "translations", "kind", "language", "meaning")),
        **{f"{FELLOWSHIP_SOURCE}{pk}": [default] for pk, default in
           Fellowship.objects.using(using).values_list("id", "default_open_closed")}}


def _value(source, name: str) -> str:
    return (source.get(name) if isinstance(source, Mapping) else getattr(source, name)) or ""


def search_text(*, meeting, location, type_ids: Iterable[int], names: Mapping[int, str]) -> str:
    """A meeting's `search_text`. `meeting` and `location` are model
    instances or rows (dicts) with the fields named above (a location's
    name, formatted address and `models.ADDRESS_PARTS`); `location` may be
    None; `names` is `type_search_names(...)`."""
    parts = [_value(meeting, f) for f in MEETING_TEXT]
    if location is not None:
        address = address_as_read(formatted_address=_value(location, "formatted_address"),
                                  **{part: _value(location, part) for part in ADDRESS_PARTS})
        parts += [_value(location, "name"), address, _value(location, "city")]
    # The names are folded already (once per vocabulary, not per meeting).
    words = fold(" ".join(parts)).split()
    for pk in sorted(set(type_ids)):
        words += names.get(pk, "").split()
    # A word searched for has no space, so it is found in the text exactly
    # when it is found in one of its words: each word is kept once (a group
    # named as its meeting, a city in the address, shared type names).
    return " ".join(dict.fromkeys(words))


def word_text(words: Iterable[str]) -> str:
    """Words, sorted, each between spaces (" B O W "): a meeting's
    `type_code_text` (its types' codes; a meeting only has its own
    fellowship's types, one per code, so a code found there is its
    fellowship's) and `language_text` (`meeting_languages`)."""
    words = sorted(set(words))
    return f" {' '.join(words)} " if words else ""


def has_word(field: str, word: str) -> Q:
    """The meetings whose `field` (a `word_text`) has `word`. Codes and
    languages are checked against the vocabularies before (no `%` or `_`;
    none differs from another only by case, which SQLite's LIKE ignores)."""
    return Q(**{f"{field}__contains": f" {word} "})


def type_code_conditions(codes: Iterable[tuple[str, ...]]) -> list[Q]:
    """One condition per group of codes: the meetings that have, of every
    group, one of its codes (a group of one: that code)."""
    return [reduce(or_, (has_word("type_code_text", code) for code in alternatives))
            for alternatives in sorted(set(codes))]


def language_named(kind: str, language: str) -> str:
    """The language a type names: a language type's; none for the others."""
    return language if kind == "language" else ""


def meeting_languages(named: Iterable[str], default_language: str) -> str:
    """A meeting's `language_text`: the languages its types name (each
    type's `language_named`), or, naming none, its service body's
    `default_language`."""
    return word_text([language for language in named if language] or [default_language])


# The language a published record naming none is read in: Meeting Guide's
# apps take it so, and it is our BMLT server's native language (its `nativeLang`).
UNSTATED_LANGUAGE = "en"


def is_published_language(language: str) -> bool:
    """Whether a record held in `language` names it: all but `UNSTATED_LANGUAGE`."""
    return bool(language) and language != UNSTATED_LANGUAGE


def language_types(types: Iterable[tuple]) -> dict:
    """{fellowship: {language: the type that names it}} from every type's
    (id, fellowship, kind, language); the first by id where two name one."""
    found: dict = {}
    for pk, fellowship, kind, language in sorted(types, key=lambda t: t[0]):
        if language_named(kind, language):
            found.setdefault(fellowship, {}).setdefault(language, pk)
    return found


def published_type_ids(*, type_ids: Iterable[int], language_text: str,
                       language_types: Mapping[str, int]) -> list[int]:
    """A meeting's types as its published records carry them (the Meeting
    Guide feed, BMLT): its own, and the type of each language it is held in
    (its `language_text`, as the search's `language` reads it) that they do
    not name, when it is published (`is_published_language`): a meeting of a
    Spanish-speaking service body says Spanish. `language_types`: its
    fellowship's language -> type id."""
    found = list(dict.fromkeys(type_ids))
    for language in language_text.split():
        language_type = language_types.get(language)
        if is_published_language(language) and language_type is not None and language_type not in found:
            found.append(language_type)
    return found


def language_condition(languages: Iterable[str]) -> Q:
    """The meetings held in one of `languages`."""
    return reduce(or_, (has_word("language_text", language) for language in sorted(set(languages))))


# The signs around a word ("(women)," -> "women"): what is neither a letter
# nor a digit (`str.isalnum`) at either end; signs inside it stay ("12&12",
# "step-study", "a.a").
SIGNS_AROUND_RE = re.compile(r"^[\W_]+|[\W_]+\Z")


# The most words a keyword search looks for: each is one more condition on
# every row the others leave, and words of one or two letters have no
# trigram to narrow them (47 of them cost 0.5-0.9 s at 100,000 meetings).
MAX_KEYWORD_WORDS = 10


def keyword_words(keywords: str) -> list[str]:
    """The words of `keywords` looked for (folded, without the signs around
    them, as a search box reads "women," or "(women)"; a word said twice is
    one). A word with no letter or digit ("-", "&", "%%%") is no word to look
    for: it would keep only the texts that happen to hold that sign, and,
    having no trigram, make PostgreSQL read every row to check it (~200 ms
    at 1,000,000 meetings; bench/README.md, round 22)."""
    return [word for word in dict.fromkeys(SIGNS_AROUND_RE.sub("", word) for word in fold(keywords).split()) if word]


def keyword_conditions(keywords: str) -> list[Q]:
    """One condition per word of `keywords` (`keyword_words`): the meetings
    in whose search text it appears."""
    return [Q(search_text__contains=word) for word in keyword_words(keywords)]
