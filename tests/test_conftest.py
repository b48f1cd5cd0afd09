"""The shared fixtures hold what they promise: a fast password hasher, and
rows made once for the tests that read them (the Orange County sample for
the session, a module's own through `shared_rows`), seen by no other test,
each reader's writes and changes to its objects undone before the next, and
nothing kept from one reader's answers for the next."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fellowships.services import vocabularies_sync
from meetings.models import Meeting
from tests.factories import make_meeting

pytestmark = pytest.mark.django_db
RENAMED = "Renamed by a test"


def test_passwords_hash_fast_in_tests():
    user = get_user_model().objects.create_user("someone", "someone@example.org", "not-a-real-password")
    assert user.password.startswith("md5$")
    assert check_password("not-a-real-password", make_password("not-a-real-password"))


def test_a_reader_sees_the_sample_and_may_write(oc_sample):
    assert Meeting.objects.filter(feed_source__slug__startswith="sample-").count() >= 330
    Meeting.objects.filter(slug="aa-serenity-seekers-irvine-tue").update(name=RENAMED)


def test_the_next_reader_sees_the_sample_as_loaded(oc_sample):
    assert not Meeting.objects.filter(name=RENAMED).exists()
    assert Meeting.objects.get(slug="aa-serenity-seekers-irvine-tue").name != RENAMED


def test_a_test_that_does_not_ask_for_the_sample_sees_none_of_it():
    # Listed after the readers on purpose: the readers run last, so this one ran before them.
    assert not Meeting.objects.exists()


@pytest.fixture(scope="module")
def module_rows(shared_rows):
    with shared_rows():
        vocabularies_sync()
        yield {"meeting": make_meeting(name="Made once for the module", slug="made-once", types=("O",))}


@pytest.fixture
def module_meeting(module_rows, read_again):
    return read_again(module_rows)["meeting"]


def test_a_reader_of_a_modules_rows_may_change_them(module_meeting, client):
    assert client.get("/api/v1/meetings/made-once/").json()["types"] == ["O"]  # its type names kept for this version
    module_meeting.name = RENAMED  # in memory only
    Meeting.objects.filter(slug="made-once").update(notes=RENAMED)


def test_the_next_reader_of_a_modules_rows_sees_them_as_made(module_meeting, client):
    assert module_meeting.name == "Made once for the module" and module_meeting.notes == ""
    with CaptureQueriesContext(connection) as captured:
        assert client.get("/api/v1/meetings/made-once/").json()["types"] == ["O"]
    assert [q for q in captured if "fellowships_meetingtype" in q["sql"]], "type names kept from the test before"


def test_a_test_of_the_module_that_does_not_ask_for_its_rows_sees_none_of_them():
    # Listed after the readers on purpose: a module's readers run after its other tests.
    assert not Meeting.objects.filter(slug="made-once").exists()
