"""factory_boy factories; meetings are saved through the service so their
derived fields are what production would hold."""

from __future__ import annotations

import datetime as dt

import factory

from fellowships.models import Fellowship, MeetingType, ServiceBody
from meetings.models import Location, Meeting, Region
from meetings.services import meeting_save


class RegionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Region
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Region {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))


class ServiceBodyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceBody
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Service Body {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))
    fellowship = factory.LazyFunction(lambda: Fellowship.objects.get(slug="aa"))
    timezone = "America/Los_Angeles"


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    name = factory.Sequence(lambda n: f"Hall {n}")
    address = factory.Sequence(lambda n: f"{100 + n} Main St")
    city = "Irvine"
    state = "CA"
    postal_code = "92618"
    country = "US"
    formatted_address = factory.LazyAttribute(lambda o: f"{o.address}, {o.city}, {o.state} {o.postal_code}, USA")
    latitude = 33.6846
    longitude = -117.8265
    timezone = "America/Los_Angeles"


def make_meeting(
    *,
    name: str = "Meeting",
    fellowship: str = "aa",
    day: int | None = 2,
    time: str | None = "19:00",
    timezone: str = "",
    location: Location | None = None,
    types: tuple[str, ...] = (),
    service_body: ServiceBody | None = None,
    published: bool = True,
    **fields,
) -> Meeting:
    """One meeting saved through `meeting_save`; `location=None` with
    `no_location=True` makes an online-only meeting without a place."""
    fellowship_obj = Fellowship.objects.get(slug=fellowship)
    no_location = fields.pop("no_location", False)
    if location is None and not no_location:
        location = LocationFactory()
    slug = fields.pop("slug", None) or f"{name.lower().replace(' ', '-')}-{Meeting.objects.count() + 1}"
    meeting = Meeting(
        fellowship=fellowship_obj,
        service_body=service_body or ServiceBodyFactory(name=f"{fellowship} office", fellowship=fellowship_obj),
        location=location,
        slug=slug,
        name=name,
        day=day,
        time=dt.time.fromisoformat(time) if time else None,
        timezone=timezone,
        published=published,
        **fields,
    )
    type_objects = list(MeetingType.objects.filter(fellowship=fellowship_obj, code__in=types))
    assert len(type_objects) == len(set(types)), f"unknown codes in {types}"
    return meeting_save(meeting=meeting, types=type_objects)
