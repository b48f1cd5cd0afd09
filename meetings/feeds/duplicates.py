"""Recognising one meeting listed by two sources (an intergroup feed and a
district feed): same fellowship, weekday and time, nearby, similar name."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from difflib import SequenceMatcher

from meetings import geo
from meetings.models import Meeting

NEARBY_M = 150.0
NAME_SIMILARITY = 0.8
FILLER_WORDS = {"the", "group", "meeting", "aa", "na", "al", "anon", "of", "a"}


def name_words(name: str) -> str:
    words = re.findall(r"\w+", name.lower())
    return " ".join(w for w in words if w not in FILLER_WORDS)


def similar_names(first: str, second: str) -> bool:
    a, b = name_words(first), name_words(second)
    if not a or not b:
        return first.strip().lower() == second.strip().lower()
    if a == b or a in b or b in a:
        return True
    return SequenceMatcher(None, a, b).ratio() >= NAME_SIMILARITY


def mark_duplicates(*, meetings: Iterable[Meeting], source: str) -> int:
    """Point each of `meetings` (just imported from `source`) at the same
    meeting from another source, if there is one; the other source's row,
    there first, stays the one shown. Only a public meeting hides another: a
    curator's draft or a listing kept unpublished would hide the real one
    with it (and one that stops being public shows its copies again:
    `meetings.services.duplicates_show_again`). Returns how many were marked."""
    meetings = [m for m in meetings if m.day is not None and m.time is not None and m.latitude is not None]
    if not meetings:
        return 0
    candidates = (
        Meeting.objects.published().filter(
            fellowship_id__in={m.fellowship_id for m in meetings},
            day__in={m.day for m in meetings},
            time__in={m.time for m in meetings},
            latitude__isnull=False,
        )
        .exclude(source=source)
        .values_list("id", "fellowship_id", "day", "time", "latitude", "longitude", "name")
    )
    by_slot: dict[tuple, list[tuple]] = defaultdict(list)
    for row in candidates:
        by_slot[(row[1], row[2], row[3])].append(row)
    marked = 0
    for meeting in meetings:
        for row in by_slot.get((meeting.fellowship_id, meeting.day, meeting.time), []):
            close = geo.great_circle_m(meeting.latitude, meeting.longitude, row[4], row[5]) <= NEARBY_M
            if close and similar_names(meeting.name, row[6]):
                meeting.duplicate_of_id = row[0]
                marked += 1
                break
        else:
            meeting.duplicate_of_id = None
    return marked
