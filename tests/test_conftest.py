"""The shared fixtures hold what they promise: a fast password hasher, and
the Orange County sample loaded once for the tests that read it, seen by no
other test, each reader's writes undone before the next."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import check_password, make_password

from meetings.models import Meeting

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
