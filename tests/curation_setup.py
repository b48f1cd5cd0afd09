"""Shared set-up of the curation tests: two fellowships' service bodies,
one with a child, and a curator for each."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model

from fellowships.models import Fellowship, ServiceBody
from meetings.curation import curator_assign
from tests.factories import LocationFactory, ServiceBodyFactory, make_meeting


@dataclass
class Directory:
    aa_office: ServiceBody
    aa_district: ServiceBody  # below aa_office
    na_area: ServiceBody
    aa_curator: object
    na_curator: object


def make_directory() -> Directory:
    aa = Fellowship.objects.get(slug="aa")
    na = Fellowship.objects.get(slug="na")
    aa_office = ServiceBodyFactory(name="OC Central Office", fellowship=aa)
    aa_district = ServiceBodyFactory(name="South County District", fellowship=aa, parent=aa_office)
    na_area = ServiceBodyFactory(name="OC NA Area", fellowship=na)
    User = get_user_model()
    aa_curator = User.objects.create_user("aa-volunteer", "aa-volunteer@example.org", "not-a-real-password")
    na_curator = User.objects.create_user("na-volunteer", "na-volunteer@example.org", "not-a-real-password")
    curator_assign(user=aa_curator, service_bodies=[aa_office])
    curator_assign(user=na_curator, service_bodies=[na_area])
    return Directory(aa_office, aa_district, na_area, aa_curator, na_curator)


def aa_meeting(directory: Directory, name: str = "Serenity Group", **fields):
    fields.setdefault("location", LocationFactory())
    return make_meeting(name=name, fellowship="aa", service_body=directory.aa_office, **fields)


def na_meeting(directory: Directory, name: str = "Just For Today", **fields):
    fields.setdefault("location", LocationFactory())
    return make_meeting(name=name, fellowship="na", service_body=directory.na_area, **fields)
