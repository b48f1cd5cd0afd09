import pytest

from meetings.attendance import conference_provider, derive_attendance, phone_is_usable


@pytest.mark.parametrize(
    ("url", "provider"),
    [
        ("https://zoom.us/j/123", "Zoom"),
        ("https://us02web.zoom.us/j/123?pwd=x", "Zoom"),
        ("https://myzoom.us/j/123", ""),
        ("https://zoom.us.example.org/j/1", ""),
        ("https://meet.google.com/abc-defg-hij", "Google Meet"),
        ("https://teams.microsoft.com/l/meetup-join/1", "Teams"),
        ("ftp://zoom.us/j/1", ""),
        ("zoom.us/j/1", ""),
        ("not a url at all", ""),
        ("", ""),
    ],
)
def test_conference_provider_on_a_dot_boundary(url, provider):
    assert conference_provider(url) == provider


@pytest.mark.parametrize(
    ("phone", "usable"),
    [("+1 555 010 0199", True), ("555-0100", False), ("+15550100199,,123456#", True), ("", False),
     ("(714) 555-0100", True)],
)
def test_phone_rule(phone, usable):
    assert phone_is_usable(phone) is usable


@pytest.mark.parametrize(
    ("tc", "online", "approximate", "expected"),
    [
        (True, True, False, "online"), (True, True, True, "online"), (True, False, False, "inactive"),
        (True, False, True, "inactive"), (False, True, True, "online"), (False, True, False, "hybrid"),
        (False, False, True, "inactive"), (False, False, False, "in_person"),
    ],
)
def test_attendance_table(tc, online, approximate, expected):
    assert derive_attendance(temporarily_closed=tc, online=online, approximate=approximate) == expected
