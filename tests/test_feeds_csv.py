import datetime as dt

import pytest

from meetings.feeds.csv import csv_rows, parse_csv
from meetings.feeds.records import FeedUnreadable

TSML_CSV = """Time,End Time,Day,Name,Location,Address,City,State,Postal Code,Country,Types,Notes,Location Notes,Region,Sub Region,Group,Conference URL,Conference Phone,Slug,Updated
7:00 AM,8:00 AM,Monday,Early Birds,Community Church,1 Main St,Irvine,CA,92618,US,"Open, Discussion",Side door,Room 2,Orange County,Irvine,Early Group,https://zoom.us/j/5550100,,early-birds,2024-01-02 03:04:05
19:30,,Thursday,Big Book,Hall,2 Oak Ave,Costa Mesa,CA,92626,US,"C,B",,,Orange County,Costa Mesa,,,,big-book,
noon,,Friday,Broken,Hall,3 Oak Ave,Costa Mesa,CA,92626,US,O,,,,,,,,broken,
"""


def test_tsml_template_columns():
    parsed = parse_csv(TSML_CSV)
    first, second = parsed.meetings
    assert (first.key, first.day, first.time, first.end_time) == ("early-birds", 1, dt.time(7), dt.time(8))
    assert first.type_tokens == ["Open", "Discussion"]
    assert (first.location_name, first.postal_code, first.regions) == ("Community Church", "92618",
                                                                        ["Orange County", "Irvine"])
    assert first.conference_url == "https://zoom.us/j/5550100" and first.location_notes == "Room 2"
    assert (second.day, second.time, second.type_tokens) == (4, dt.time(19, 30), ["C", "B"])
    # 12-hour times are read with a note; "noon" is not guessed.
    assert [(n.kind, n.record_key, n.field) for n in parsed.notes] == [
        ("repaired", "early-birds", "time"), ("repaired", "early-birds", "end_time"), ("rejected", "broken", "time")]


def test_semicolon_csv_and_aliases():
    records = list(csv_rows("Name;Day;Start Time;ZIP\nA;Sunday;9:00;92618\n"))
    assert records == [{"name": "A", "day": "Sunday", "time": "9:00", "postal_code": "92618"}]


def test_csv_without_name_column_or_html_is_unreadable():
    with pytest.raises(FeedUnreadable):
        list(csv_rows("Foo,Bar\n1,2\n"))
    with pytest.raises(FeedUnreadable):
        list(csv_rows("<html><body>Not found</body></html>"))


def test_a_row_with_a_day_but_no_time_is_by_appointment_with_a_note():
    parsed = parse_csv("Name,Day,Time,Slug\nDay only,Monday,,rt-dayonly\n")
    assert [(m.key, m.day, m.time) for m in parsed.meetings] == [("rt-dayonly", None, None)]
    assert [(n.kind, n.record_key, n.field) for n in parsed.notes] == [("repaired", "rt-dayonly", "day")]
