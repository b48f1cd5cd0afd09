"""The one place for schedule and time-zone math.

A meeting's `day` and `time` are wall-clock values in its own IANA zone.
Instants are resolved the way RFC 5545 asks (and zoneinfo does with fold=0):
a wall time skipped by a spring-forward gap takes the offset from before the
gap (02:30 on the day Los Angeles springs forward is 10:30 UTC), and a wall
time repeated by a fall-back takes its first occurrence.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC = dt.timezone.utc
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def sunday_zero_weekday(date: dt.date) -> int:
    """Meeting Guide's weekday number: Sunday = 0 ... Saturday = 6."""
    return date.isoweekday() % 7


def is_schedule(*, day: int | None, time: dt.time | None) -> bool:
    """A weekly meeting has both a day and a time; a meeting by appointment
    neither. One without the other is listed by no reader the same way (the
    feeds' parser makes a day without a time by appointment)."""
    return (day is None) == (time is None)


@lru_cache(maxsize=1024)
def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@lru_cache(maxsize=1)
def known_zone_names() -> frozenset[str]:
    # "localtime" is this machine's own zone file, not an IANA name: a viewer's
    # tz=localtime would be answered in the server's zone.
    return frozenset(available_timezones()) - {"localtime"}


def is_valid_zone(name: str) -> bool:
    if not name or name not in known_zone_names():
        return False
    try:
        zone(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def published_zone(name: str) -> str:
    """A meeting's zone as every reader shows it: its IANA name, or "" for a
    stored name that is not one (written to the database directly), which the
    searches and the clock read as no zone too: no next start, no calendar."""
    return name if is_valid_zone(name) else ""


def resolve_wall_time(local: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of a naive wall-clock datetime in `tz` (fold=0, RFC 5545)."""
    # Built whole (fold 0 by default) rather than by replace(tzinfo=, fold=), whose
    # keywords cost twice as much as the rest: every occurrence not yet remembered resolves two.
    return dt.datetime(local.year, local.month, local.day, local.hour, local.minute, local.second, local.microsecond,
                       tz).astimezone(UTC)


def next_start(*, day: int | None, time: dt.time | None, timezone: str, now: dt.datetime) -> dt.datetime | None:
    """The first start at or after `now`, as a UTC instant; None for by-appointment
    meetings and meetings without a usable time zone."""
    found = next_occurrence(day=day, time=time, end_time=None, timezone=timezone, now=now)
    return found[0] if found else None


@dataclass(frozen=True)
class WallSegment:
    """Meetings on `day` starting in [start_minute, end_minute) of local wall
    time on the local `date` begin at the UTC instant `midnight` + minute."""

    day: int
    start_minute: int
    end_minute: int
    utc_offset_minutes: int
    date: dt.date

    @property
    def midnight(self) -> dt.datetime:
        """The UTC instant that `date`'s wall midnight would be at this offset."""
        return dt.datetime.combine(self.date, dt.time(), UTC) - dt.timedelta(minutes=self.utc_offset_minutes)


def _offset_minutes(tz: ZoneInfo, instant: dt.datetime) -> int:
    return int(instant.astimezone(tz).utcoffset().total_seconds() // 60)


def _transitions(tz: ZoneInfo, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, int, int]]:
    """(instant, offset before, offset after) of each offset change in [start, end],
    to the minute. Sampled every six hours: zones never change twice in that time."""
    found = []
    step = dt.timedelta(hours=6)
    left = start
    left_offset = _offset_minutes(tz, left)
    while left < end:
        right = min(left + step, end)
        right_offset = _offset_minutes(tz, right)
        if right_offset != left_offset:
            lo, hi = left, right  # offset(lo) = before, offset(hi) = after
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid <= lo:
                    mid = lo + dt.timedelta(minutes=1)
                if _offset_minutes(tz, mid) == left_offset:
                    lo = mid
                else:
                    hi = mid
            found.append((hi, left_offset, right_offset))
        left, left_offset = right, right_offset
    return found


def _split_by_day(start: dt.datetime, stop: dt.datetime, offset: int) -> list[WallSegment]:
    """Cut a naive local interval [start, stop) into per-weekday minute ranges."""
    segments = []
    cursor = start
    while cursor < stop:
        day_end = dt.datetime.combine(cursor.date() + dt.timedelta(days=1), dt.time())
        piece_end = min(stop, day_end)
        start_minute = cursor.hour * 60 + cursor.minute
        end_minute = MINUTES_PER_DAY if piece_end == day_end else piece_end.hour * 60 + piece_end.minute
        segments.append(WallSegment(sunday_zero_weekday(cursor.date()), start_minute, end_minute, offset,
                                    cursor.date()))
        cursor = piece_end
    return segments


def starting_segments(*, timezone: str, start: dt.datetime, stop: dt.datetime) -> tuple[WallSegment, ...]:
    """The local wall-clock ranges of the meetings in `timezone` whose start lies
    in [start, stop) (both taken to the minute), exact across transitions.

    A wall time w resolves with the offset in force before the first boundary
    B = T + max(before, after) of each transition T it has not reached; so the
    window is, per constant-offset piece k, [start + o_k, stop + o_k) cut to [B_k, B_k+1).
    """
    return _starting_window_segments(timezone, start.astimezone(UTC).replace(second=0, microsecond=0),
                                     stop.astimezone(UTC).replace(second=0, microsecond=0))


@lru_cache(maxsize=4096)
def _starting_window_segments(timezone: str, start: dt.datetime, stop: dt.datetime) -> tuple[WallSegment, ...]:
    tz = zone(timezone)
    margin = dt.timedelta(days=1)
    transitions = _transitions(tz, start - margin, stop + margin)
    offsets = [_offset_minutes(tz, start - margin)] + [after for _, _, after in transitions]
    boundaries = [None] + [
        (instant + dt.timedelta(minutes=max(before, after))).replace(tzinfo=None)
        for instant, before, after in transitions
    ] + [None]
    segments: list[WallSegment] = []
    for k, offset in enumerate(offsets):
        shift = dt.timedelta(minutes=offset)
        lo = (start + shift).replace(tzinfo=None)
        hi = (stop + shift).replace(tzinfo=None)
        if boundaries[k] is not None:
            lo = max(lo, boundaries[k])
        if boundaries[k + 1] is not None:
            hi = min(hi, boundaries[k + 1])
        if lo < hi:
            segments.extend(_split_by_day(lo, hi, offset))
    return tuple(segments)


def local_date_window(*, date: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """UTC [start, stop) of a local calendar date in `tz`: from its first
    instant to the next date's (a midnight skipped by a transition starts the
    day at the transition)."""
    start = resolve_wall_time(dt.datetime.combine(date, dt.time()), tz)
    stop = resolve_wall_time(dt.datetime.combine(date + dt.timedelta(days=1), dt.time()), tz)
    return start, stop


# A meeting that states no end lasts an hour (Meeting Guide's default); an end
# equal to the start says nothing either.
DEFAULT_DURATION_MINUTES = 60


def wall_end(*, time: dt.time, end_time: dt.time | None) -> tuple[int, dt.time]:
    """(days after the start's date, wall-clock end) of a meeting starting at
    `time`: an end at or before the start is on the next day."""
    if end_time is None or end_time == time:
        minutes = time.hour * 60 + time.minute + DEFAULT_DURATION_MINUTES
        return minutes // MINUTES_PER_DAY, dt.time((minutes % MINUTES_PER_DAY) // 60, minutes % 60)
    return (1 if end_time < time else 0), end_time


def wall_duration_minutes(*, time: dt.time, end_time: dt.time | None) -> int:
    """Minutes from start to end on the wall clock (real time differs by a
    transition's size when one falls inside the meeting)."""
    days, end = wall_end(time=time, end_time=end_time)
    return days * MINUTES_PER_DAY + end.hour * 60 + end.minute - (time.hour * 60 + time.minute)


# Pure, and asked again and again for the same slots (every row of every
# page, every calendar): remembered, as zoneinfo remembers its zones. Its
# arguments are positional: keywords cost the cache a dict on every call.
@lru_cache(maxsize=8192)
def occurrence(date: dt.date, time: dt.time, end_time: dt.time | None, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """UTC (start, end) of the occurrence on local `date`, each resolved in its
    own wall time: the end of a meeting spanning a transition keeps its wall hour."""
    days, end = wall_end(time=time, end_time=end_time)
    start = resolve_wall_time(dt.datetime.combine(date, time), tz)
    finish = resolve_wall_time(dt.datetime.combine(date + dt.timedelta(days=days), end), tz)
    if finish <= start:
        # Both ends inside one spring-forward gap resolve to the same instant: keep the length.
        finish = start + dt.timedelta(minutes=wall_duration_minutes(time=time, end_time=end_time))
    return start, finish


_WEEK = dt.timedelta(days=7)


@lru_cache(maxsize=256)
def _clock_in(timezone: str, now: dt.datetime) -> tuple[ZoneInfo, dt.datetime, tuple[dt.date, ...],
                                                         tuple[dt.date, ...]] | None:
    """The clock in `timezone` at `now`: the zone, `now` to the minute, and for
    each weekday (Sunday = 0) its local date on or after today and its date on
    or before today; None for a name that is not a zone. Asked for each
    meeting of a page, with the page's `now`."""
    if not is_valid_zone(timezone):
        return None
    tz = zone(timezone)
    today = now.astimezone(tz).date()
    ahead = tuple(first_date_on_or_after(day=day, date=today) for day in range(7))
    return tz, now.replace(second=0, microsecond=0), ahead, tuple(d if d == today else d - _WEEK for d in ahead)


def next_occurrence(*, day: int | None, time: dt.time | None, end_time: dt.time | None, timezone: str,
                    now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """UTC (start, end) of the first occurrence starting at or after `now`: the
    start is `next_start`'s. None for by-appointment and zone-less meetings."""
    found = _clock_in(timezone, now) if day is not None and time is not None else None
    if found is None:
        return None
    tz, minute, ahead, _ = found
    date = ahead[day % 7]
    for _ in range(3):
        start, end = occurrence(date, time, end_time, tz)
        if start >= minute:
            return start, end
        date += _WEEK
    raise AssertionError("unreachable: a weekly meeting starts within three weeks")


def current_occurrence(*, day: int | None, time: dt.time | None, end_time: dt.time | None, timezone: str,
                       now: dt.datetime) -> tuple[dt.datetime, dt.datetime] | None:
    """UTC (start, end) of the occurrence under way at `now` (start <= now < end),
    else None; None always for by-appointment and zone-less meetings. Checks last
    week's occurrence too: it may still run past midnight into today."""
    found = _clock_in(timezone, now) if day is not None and time is not None else None
    if found is None:
        return None
    tz, _, _, back = found
    date = back[day % 7]
    for _ in range(2):
        start, end = occurrence(date, time, end_time, tz)
        if start <= now < end:
            return start, end
        date -= _WEEK
    return None


def in_progress(*, day: int | None, time: dt.time | None, end_time: dt.time | None, timezone: str,
                now: dt.datetime) -> bool:
    return current_occurrence(day=day, time=time, end_time=end_time, timezone=timezone, now=now) is not None


def first_date_on_or_after(*, day: int, date: dt.date) -> dt.date:
    """The first date on weekday `day` (Sunday = 0) at or after `date`."""
    return date + dt.timedelta(days=(day - sunday_zero_weekday(date)) % 7)


@dataclass(frozen=True)
class ZoneTurns:
    """Where, in a zone's local week (minutes from Sunday 00:00), what the
    clock shows of its meetings can change: each start and end (and the minute
    after: `next_start` moves on a minute after the start), each midnight (a
    calendar starts from today); `starts` again for searches that look ahead."""

    turns: tuple[int, ...]
    starts: tuple[int, ...]
    # The longest of its meetings, in wall minutes (0: none).
    longest: int = 0
    # Its distinct weekly times, in order of start: (start, end), the start in
    # minutes from Sunday 00:00 and the end (`end_time`) from midnight, or None.
    times: tuple[tuple[int, int | None], ...] = ()


def weekly_time(*, day: int, time: dt.time, end_time: dt.time | None) -> tuple[int, int | None]:
    """A weekly time as `ZoneTurns.times` holds it: (start, end)."""
    return day * MINUTES_PER_DAY + time.hour * 60 + time.minute, (None if end_time is None
                                                                    else end_time.hour * 60 + end_time.minute)


def zone_turns(wall_times) -> ZoneTurns:
    """The turns of a zone's meetings, from their (day, time, end_time)."""
    starts, turns, longest, times = set(), {day * MINUTES_PER_DAY for day in range(7)}, 0, set()
    for day, time, end_time in wall_times:
        start, end_minute = weekly_time(day=day, time=time, end_time=end_time)
        length = wall_duration_minutes(time=time, end_time=end_time)
        end = start + length
        starts.add(start)
        turns.update(minute % MINUTES_PER_WEEK for minute in (start, start + 1, end, end + 1))
        longest = max(longest, length)
        times.add((start, end_minute))
    return ZoneTurns(turns=tuple(sorted(turns)), starts=tuple(sorted(starts)), longest=longest,
                     times=tuple(sorted(times, key=lambda t: (t[0], -1 if t[1] is None else t[1]))))


def _wall_time(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


def under_way(turns: ZoneTurns, *, timezone: str, now: dt.datetime) -> list[tuple[int, dt.time, dt.time | None]]:
    """The weekly times (day, time, end_time) of the zone's meetings (`turns`)
    under way at `now` (`in_progress`), looked for among those that started on
    the wall clock at most the zone's longest meeting ago, give or take two
    changes of offset (one inside the meeting, one since its start)."""
    tz = zone(timezone)
    local = now.astimezone(tz)
    at = sunday_zero_weekday(local.date()) * MINUTES_PER_DAY + local.hour * 60 + local.minute
    lo, hi = at - turns.longest - 4 * 60, at + 2 * 60
    found = []
    for shift in (-MINUTES_PER_WEEK, 0, MINUTES_PER_WEEK):  # the window may run over the week's ends
        first = bisect.bisect_left(turns.times, max(lo + shift, 0), key=lambda t: t[0])
        last = bisect.bisect_right(turns.times, min(hi + shift, MINUTES_PER_WEEK - 1), key=lambda t: t[0])
        for start, end in turns.times[first:last]:
            day, time = start // MINUTES_PER_DAY, _wall_time(start % MINUTES_PER_DAY)
            end_time = None if end is None else _wall_time(end)
            if in_progress(day=day, time=time, end_time=end_time, timezone=timezone, now=now):
                found.append((day, time, end_time))
    return found


def _around(turns: list[int] | tuple[int, ...], minute: int) -> tuple[int, int]:
    """(last turn at or before `minute`, first turn after it) on the weekly
    circle, as minutes from `minute`: (-back, ahead)."""
    i = bisect.bisect_right(turns, minute)
    before = turns[i - 1] if i else turns[-1] - MINUTES_PER_WEEK
    after = turns[i] if i < len(turns) else turns[0] + MINUTES_PER_WEEK
    return before - minute, after - minute


# A span is at most a week each way: changes of offset this near are looked for.
_NEAR = dt.timedelta(days=8)


def unchanged_span(*, now: dt.datetime, zones: dict[str, ZoneTurns], leads: tuple[int, ...] = (),
                   day_zones: tuple[str, ...] = ()) -> tuple[dt.datetime, dt.datetime]:
    """[since, until), whole minutes around `now`, in which nothing the clock
    decides can change for the meetings of `zones`: none starts or ends, no
    day begins in their zones, in `day_zones` (a viewer's) or in UTC, and
    none is `lead` minutes from its start (a search `starting_within` a lead).
    An answer that shows the clock is the same throughout. A span that
    would cross a change of offset in some zone stops there."""
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    back, ahead = -MINUTES_PER_WEEK, MINUTES_PER_WEEK
    midnights = zone_turns(())
    named = [(name, turns) for name, turns in zones.items()] + [(name, midnights) for name in (*day_zones, "UTC")]
    for name, found in named:
        tz = zone(name)
        local = minute.astimezone(tz)
        at = sunday_zero_weekday(local.date()) * MINUTES_PER_DAY + local.hour * 60 + local.minute
        turns = found.turns
        if leads and found.starts:
            turns = sorted({*turns, *((s - lead + k) % MINUTES_PER_WEEK for s in found.starts
                                      for lead in leads for k in (0, 1))})
        # Local minutes count as real ones only while the offset holds. Near a
        # change of offset, a span stops at the change, and wall times skipped
        # by it (resolved an offset's difference later) turn there too.
        changes = []
        if not _offset_minutes(tz, minute - _NEAR) == _offset_minutes(tz, minute) == _offset_minutes(tz, minute + _NEAR):
            changes = _transitions(tz, minute - _NEAR, minute + _NEAR)
            shifts = {sign * (after - before) for _, before, after in changes for sign in (1, -1)}
            turns = sorted({*turns, *((t + shift) % MINUTES_PER_WEEK for t in turns for shift in shifts)})
        since, until = _around(turns, at)
        for instant, _, _ in changes:
            moved = int((instant - minute).total_seconds() // 60)
            if moved <= 0:
                since = max(since, moved)
            else:
                until = min(until, moved)
        back, ahead = max(back, since), min(ahead, until)
    return minute + dt.timedelta(minutes=back), minute + dt.timedelta(minutes=ahead)


def viewer_zone(name: str) -> ZoneInfo | None:
    """A viewer's zone by IANA name; None when the name is not one."""
    return zone(name) if is_valid_zone(name) else None


# How times are written wherever the directory shows or sends them (API,
# feeds, history, forms): one rendering each.

def is_whole_minute(value: dt.time | None) -> bool:
    """Meeting times are whole minutes: every reader shows HH:MM (`hh_mm`),
    so a second kept would be compared (a time filter, an end before a start
    of 19:00:30 running a day) where no one sees it. None is no time."""
    return value is None or (value.second == 0 and value.microsecond == 0)


def hh_mm(value: dt.time | None) -> str | None:
    """A wall-clock time as HH:MM (seconds dropped); None stays None."""
    return value.isoformat("minutes") if value is not None else None


def utc_text(instant: dt.datetime) -> str:
    """An instant as ISO 8601 in UTC with a Z."""
    # Its date and its time, each a naive ISO text: twice as fast as the instant's
    # own isoformat() (which writes the offset) with the offset then replaced.
    utc = instant.astimezone(UTC)
    return f"{utc.date().isoformat()}T{utc.time().isoformat()}Z"
