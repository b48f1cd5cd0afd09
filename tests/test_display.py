"""How a meeting reads on the pages (meetings/display.py): the clock in each
language, and the fixed words, which are translated once per language."""

import datetime as dt

import pytest
from django.utils import translation
from django.utils.dateformat import time_format

from meetings import display, schedule

EVERY_MINUTE = [dt.time(hour, minute) for hour in range(24) for minute in range(60)]


@pytest.mark.parametrize(("language", "django_format"), [("en", "g:i A"), ("en-gb", "g:i A"), ("es", "H:i")])
def test_the_clock_is_djangos_time_format_of_the_language(language, django_format):
    """English readers get 7:00 PM, others 19:00: Django's formats, for
    every minute of the day, of a time and of an instant in a zone."""
    zone = schedule.zone("America/Los_Angeles")
    with translation.override(language):
        for time in EVERY_MINUTE:
            instant = dt.datetime.combine(dt.date(2026, 3, 8), time, zone)
            assert display.clock_time(time) == time_format(time, django_format), time
            assert display.clock_time(instant) == time_format(instant, django_format), instant


def test_the_words_follow_the_active_language():
    row = {"next_start": "2026-12-03T03:00:00Z", "day": 3, "timezone": "America/New_York", "in_progress": False,
           "open_closed": "closed", "fellowship": "na", "attendance_option": "hybrid",
           "conference_provider": "Zoom", "conference_phone": "+1-555-0100"}
    now = dt.datetime(2026, 12, 2, 17, 0, tzinfo=dt.timezone.utc)
    zone = schedule.zone("America/Los_Angeles")
    for _ in range(2):  # the second time from what each language kept
        with translation.override("es"):
            assert display.when(row, viewer_zone=zone, now=now) == display.When(
                "miércoles 19:00 PST", "miércoles 22:00 EST donde se reúne", "", "Más tarde hoy", "2026-12-03T03:00:00Z")
            assert display.open_closed_text(row)[0] == "Cerrada"
            assert display.attendance_text(row) == "Híbrida: presencial y en línea · Zoom · Teléfono"
        with translation.override("en"):
            assert display.when(row, viewer_zone=zone, now=now) == display.When(
                "Wednesday 7:00 PM PST", "Wednesday 10:00 PM EST where it meets", "", "Later today", "2026-12-03T03:00:00Z")
            assert display.open_closed_text(row) == (
                "Closed", "Closed (NA): only for people who have a drug problem or think they may have one.")
            assert display.attendance_text(row) == "Hybrid: in person and online · Zoom · Phone"
