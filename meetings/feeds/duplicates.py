"""Recognising one meeting listed by two sources (an intergroup feed and a
district feed): same fellowship, weekday and time, nearby, names saying the
same words, and nothing either says about who the meeting is for that the
other contradicts.

Two meetings in one church at one hour are common (a men's and a women's
in two rooms, an English and a Spanish one), and hiding one as the other's
copy takes a real meeting out of the directory, for the people it is for
the one they need. Showing one meeting twice costs a reader a glance; so
when unsure, two meetings are shown. A curator who finds two meetings taken
for one says so (`meetings.services.meetings_not_copies`)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q

from fellowships.models import MeetingType
from meetings import geo
from meetings.keywords import fold
from meetings.models import Meeting

NEARBY_M = 150.0
# Words that say which kind of thing a name is, not which meeting:
# "Serenity Group" is "Serenity", "Grupo Serenidad" is "Serenidad".
FILLER_WORDS = {"the", "group", "meeting", "aa", "na", "al", "anon", "of", "a",
                "grupo", "reunion", "de", "del", "el", "la", "los", "las"}
# A slip of the keyboard ("Serentiy") is one letter wrong, missing, extra or
# swapped with its neighbour, in a word this long, not its first letter:
# "Men" and "Women", "Sunday" and "Monday" are two words, not one mistyped.
SLIP_MIN_LETTERS = 5


def _word(word: str) -> str:
    """A word without its plural or possessive s ("Men's", "Mens", "Men";
    "Studies", "Study"), so both spellings of a name say the same words."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def name_words(name: str) -> frozenset[str]:
    """The words of a name that say which meeting it is: folded for case and
    accents ("Español" is "espanol"), apostrophes dropped, filler left out."""
    words = re.findall(r"\w+", fold(name).replace("'", "").replace("\u2019", ""))
    return frozenset(w for w in map(_word, words) if w not in FILLER_WORDS)


def _one_slip(first: str, second: str) -> bool:
    """Whether two different words are one word mistyped (SLIP_MIN_LETTERS)."""
    if first[0] != second[0] or min(len(first), len(second)) < SLIP_MIN_LETTERS:
        return False
    if len(first) == len(second):
        apart = [i for i, (a, b) in enumerate(zip(first, second)) if a != b]
        return len(apart) == 1 or (len(apart) == 2 and apart[1] == apart[0] + 1
                                   and first[apart[0]] == second[apart[1]] and first[apart[1]] == second[apart[0]])
    shorter, longer = sorted((first, second), key=len)
    return len(longer) == len(shorter) + 1 and any(longer[:i] + longer[i + 1:] == shorter for i in range(len(longer)))


def _unpaired(first: frozenset[str], second: frozenset[str]) -> tuple[set[str], set[str]]:
    """The words of each name that the other has neither as they are nor mistyped."""
    only_first, only_second = set(first - second), set(second - first)
    for word in sorted(only_first):
        partner = next((other for other in sorted(only_second) if _one_slip(word, other)), None)
        if partner is not None:
            only_first.discard(word)
            only_second.discard(partner)
    return only_first, only_second


def similar_names(first: str, second: str, *, who_for: Iterable[frozenset[str]] = ()) -> bool:
    """Whether two names name one meeting: the same words, but for filler
    and slips of the keyboard ("The Big Book Study", "Big Book Study Group";
    "Serentiy Group", "Serenity"), or one name's words all in the other's
    ("Big Book", "Tuesday Night Big Book"), unless the words only the longer
    has name who the meeting is for or its language ("People", "Young
    People"; "Grapevine", "Grapevine en Español"): `who_for` are the words
    of those names in the vocabulary (`who_for_names`). A word each name
    has that the other lacks ("Sunday Speaker", "Monday Speaker"; "Men's
    Stag", "Women's Stag") makes two meetings."""
    a, b = name_words(first), name_words(second)
    if not a or not b:
        return first.strip().lower() == second.strip().lower()
    only_first, only_second = _unpaired(a, b)
    if only_first and only_second:
        return False
    extra, longer = (only_first, a) if only_first else (only_second, b)
    return not any(words <= longer and words & extra for words in who_for)


def who_for_names(*, fellowship_ids: Iterable[int]) -> dict[int, list[frozenset[str]]]:
    """For each fellowship, the words (`name_words`) of every name, in every
    language its vocabulary gives, of its types that say who a meeting is
    for (`MeetingType.Meaning.AUDIENCE`) or its language: "Women" and
    "Mujeres", "Spanish" and "Español". "Gay/Lesbian" is two names."""
    names: dict[int, list[frozenset[str]]] = defaultdict(list)
    types = MeetingType.objects.filter(Q(meaning=MeetingType.Meaning.AUDIENCE) | Q(kind=MeetingType.Kind.LANGUAGE),
                                       fellowship_id__in=set(fellowship_ids))
    for fellowship_id, name, translations in types.values_list("fellowship_id", "name", "translations"):
        for text in {name, *(translations or {}).values()}:
            for part in text.split("/"):
                words = name_words(part)
                if words and words not in names[fellowship_id]:
                    names[fellowship_id].append(words)
    return names


@dataclass(frozen=True)
class WhoFor:
    """What a listing says about who the meeting is for: open or closed
    (blank: not stated), its audience types (men, women, young people...),
    its languages (`Meeting.language_text`: its types', else its service
    body's, as the directory tells the public)."""

    open_closed: str
    audience: frozenset[int]
    languages: frozenset[str]

    def contradicts(self, other: WhoFor) -> bool:
        """Whether the two listings each state one of these and state it
        differently (men and women, English and Spanish, open and closed, a
        women's meeting and a young women's). What one leaves unsaid is no
        contradiction: sources describe one meeting with more or fewer codes."""
        return any(mine and theirs and mine != theirs for mine, theirs in (
            (self.open_closed, other.open_closed), (self.audience, other.audience),
            (self.languages, other.languages)))


def _audiences(meeting_ids: set[int]) -> dict[int, frozenset[int]]:
    """The audience types (ids) each of the stored `meeting_ids` has."""
    found: dict[int, set[int]] = defaultdict(set)
    for meeting_id, type_id in Meeting.types.through.objects.filter(
            meeting_id__in=meeting_ids, meetingtype__meaning=MeetingType.Meaning.AUDIENCE).values_list(
            "meeting_id", "meetingtype_id"):
        found[meeting_id].add(type_id)
    return {pk: frozenset(found[pk]) for pk in meeting_ids}


def _told_apart(*, meeting_ids: set[int], other_ids: set[int]) -> set[tuple[int, int]]:
    """The pairs (one of `meeting_ids`, one of `other_ids`) a curator said
    are two meetings (`Meeting.not_copy_of`, kept both ways)."""
    if not meeting_ids or not other_ids:
        return set()
    return set(Meeting.not_copy_of.through.objects.filter(
        from_meeting_id__in=meeting_ids, to_meeting_id__in=other_ids).values_list("from_meeting_id", "to_meeting_id"))


def mark_duplicates(*, meetings: Iterable[tuple[Meeting, Iterable[MeetingType]]], source: str) -> int:
    """Point each of `meetings` (just imported from `source`, each with the
    types it has) at the same meeting from another source, if there is one;
    the other source's row, there first, stays the one shown. Only a public
    meeting hides another (a curator's draft would hide the real one with
    it), and never one a curator said is another meeting than this one.
    Returns how many were marked."""
    listed = [(m, list(types)) for m, types in meetings
              if m.day is not None and m.time is not None and m.latitude is not None]
    if not listed:
        return 0
    candidates = (
        Meeting.objects.published().filter(
            fellowship_id__in={m.fellowship_id for m, _ in listed},
            day__in={m.day for m, _ in listed},
            time__in={m.time for m, _ in listed},
            latitude__isnull=False,
        )
        .exclude(source=source)
        .values_list("id", "fellowship_id", "day", "time", "latitude", "longitude", "name", "open_closed",
                     "language_text", named=True)
    )
    by_slot: dict[tuple, list] = defaultdict(list)
    for row in candidates:
        by_slot[(row.fellowship_id, row.day, row.time)].append(row)
    # Each meeting's neighbours, then those named alike, then what they say of who they are for.
    nearby = [[row for row in by_slot.get((meeting.fellowship_id, meeting.day, meeting.time), [])
               if geo.great_circle_m(meeting.latitude, meeting.longitude, row.latitude, row.longitude) <= NEARBY_M]
              for meeting, _ in listed]
    who_for = who_for_names(fellowship_ids={m.fellowship_id for (m, _), rows in zip(listed, nearby) if rows}) \
        if any(nearby) else {}
    alike = [[row for row in rows if similar_names(meeting.name, row.name,
                                                   who_for=who_for.get(meeting.fellowship_id, ()))]
             for (meeting, _), rows in zip(listed, nearby)]
    others = {row.id for rows in alike for row in rows}
    audience_of = _audiences(others) if others else {}
    apart = _told_apart(meeting_ids={m.pk for m, _ in listed if m.pk is not None}, other_ids=others)
    marked = 0
    for (meeting, types), rows in zip(listed, alike):
        rows = [row for row in rows if (meeting.pk, row.id) not in apart]
        mine = WhoFor(meeting.open_closed, frozenset(t.pk for t in types if t.meaning == MeetingType.Meaning.AUDIENCE),
                      frozenset(meeting.language_text.split()))
        meeting.duplicate_of_id = next((row.id for row in rows if not mine.contradicts(
            WhoFor(row.open_closed, audience_of[row.id], frozenset(row.language_text.split())))), None)
        marked += meeting.duplicate_of_id is not None
    return marked
