"""What tests build, shared by every test module (fixtures are in
conftest.py): factory_boy factories and meetings saved through the service,
so their derived fields are what production would hold; feed records and
sources run through the importer; what the admin's forms post."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import factory
from django.contrib.messages import get_messages
from django.urls import reverse

from fellowships.models import Fellowship, MeetingType, ServiceBody
from meetings.feeds.importer import import_feed_text
from meetings.models import FeedSource, ImportRun, Location, Meeting, Region
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


# Meetings of the curation directory (the `directory` fixture).

def aa_meeting(directory, name: str = "Serenity Group", **fields) -> Meeting:
    fields.setdefault("location", LocationFactory())
    return make_meeting(name=name, fellowship="aa", service_body=directory.aa_office, **fields)


def na_meeting(directory, name: str = "Just For Today", **fields) -> Meeting:
    fields.setdefault("location", LocationFactory())
    return make_meeting(name=name, fellowship="na", service_body=directory.na_area, **fields)


# Feeds: Meeting Guide records, a source, a run of the importer.

def feed_record(n: int, **fields) -> dict:
    return {"slug": f"m{n}", "name": f"Meeting {n}", "day": n % 7, "time": "19:00", "types": ["O", "D"],
            "address": f"{n} Main St", "city": "Irvine", "state": "CA", "postal_code": "92618",
            "latitude": 33.68 + n * 0.001, "longitude": -117.82, **fields}


# A BMLT record (NA, Auburn NY) and the one format it names: format 2 is O (world id OPEN).
BMLT_FORMATS = [{"id": "2", "key_string": "O", "world_id": "OPEN"}]


def bmlt_record(**fields) -> dict:
    return {"id_bigint": "10", "meeting_name": "Just for Today", "weekday_tinyint": "2", "start_time": "19:00:00",
            "time_zone": "America/New_York", "location_street": "1 Main St", "location_municipality": "Auburn",
            "location_province": "NY", "latitude": "42.93", "longitude": "-76.56", "format_shared_id_list": "2",
            **fields}


def make_source(slug: str = "oc", fellowship: str = "aa", service_body: ServiceBody | None = None,
                **fields) -> FeedSource:
    """A feed source of `service_body`, by default an office of its own (`<slug>-office`)."""
    fellowship_obj = Fellowship.objects.get(slug=fellowship)
    body = service_body or ServiceBody.objects.get_or_create(
        slug=f"{slug}-office", defaults={"name": f"{slug} office", "fellowship": fellowship_obj,
                                         "timezone": "America/Los_Angeles"})[0]
    return FeedSource.objects.create(slug=slug, name=slug, fellowship=fellowship_obj, service_body=body, **fields)


def run_feed(source: FeedSource, records: list[dict], **kwargs) -> ImportRun:
    return import_feed_text(source=source, text=json.dumps(records), **kwargs)


# The admin: what its change forms post, its URLs, the messages it shows.

def meeting_form_data(meeting: Meeting, **overrides) -> dict:
    """What the change form posts for `meeting` as it stands, with overrides."""
    data = {
        "name": meeting.name,
        "slug": meeting.slug,
        "fellowship": meeting.fellowship_id,
        "service_body": meeting.service_body_id,
        "group": meeting.group,
        "url": meeting.url,
        "notes": meeting.notes,
        "group_notes": meeting.group_notes,
        "day": "" if meeting.day is None else meeting.day,
        "time": meeting.time.strftime("%H:%M") if meeting.time else "",
        "end_time": meeting.end_time.strftime("%H:%M") if meeting.end_time else "",
        "timezone": meeting.timezone,
        "location": meeting.location_id or "",
        "conference_url": meeting.conference_url,
        "conference_url_notes": meeting.conference_url_notes,
        "conference_phone": meeting.conference_phone,
        "conference_phone_notes": meeting.conference_phone_notes,
        "types": [t.pk for t in meeting.types.all()],
        "review_reason": meeting.review_reason,
    }
    for flag in ("published", "needs_review"):
        if getattr(meeting, flag):
            data[flag] = "on"
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def location_form_data(location: Location, **overrides) -> dict:
    data = {
        field: getattr(location, field) for field in (
            "name", "address", "city", "state", "postal_code", "country", "formatted_address", "timezone", "notes",
        )
    }
    data.update({
        "latitude": "" if location.latitude is None else location.latitude,
        "longitude": "" if location.longitude is None else location.longitude,
        "region": location.region_id or "",
    })
    if location.approximate:
        data["approximate"] = "on"
    data.update(overrides)
    return data


def feed_source_form_data(source: FeedSource, **overrides) -> dict:
    """What the change form posts for `source` as it stands, with overrides."""
    data = {
        "slug": source.slug, "name": source.name, "format": source.format, "url": source.url,
        "fellowship": source.fellowship_id, "service_body": source.service_body_id,
        "bmlt_service_body_ids": source.bmlt_service_body_ids, "refresh_minutes": source.refresh_minutes,
        "shrink_guard_share": "" if source.shrink_guard_share is None else source.shrink_guard_share,
        "runs-TOTAL_FORMS": 0, "runs-INITIAL_FORMS": 0,
    }
    if source.enabled:
        data["enabled"] = "on"
    data.update(overrides)
    return data


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def message_texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# Every kind of write a directory gets, each a change a reader can see
# (tests/test_public_answers.py, in-process and from a writer process):
# `writes_prepare(kind)` makes the state before the write and says which URL
# shows it and what text it will show; `writes_write(kind)` makes the write.

WRITE_KINDS = ("service", "importer", "admin", "change_request", "revert", "bulk_update", "type_code",
               "service_body_slug")
WRITES_FEED = Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "code4recovery-pdf__tests-Fixtures-meetings.json"
WRITES_OFFICE = "writes-office"


def _writes_superuser():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="writes-admin", defaults={"is_staff": True, "is_superuser": True, "email": "w@example.org"})
    return user


def writes_setup() -> None:
    """AA, a service body and one meeting per kind of write."""
    from fellowships.services import vocabularies_sync

    vocabularies_sync()
    office = ServiceBodyFactory(name="Writes Office", slug=WRITES_OFFICE, fellowship=Fellowship.objects.get(slug="aa"))
    for kind in WRITE_KINDS:
        make_meeting(name=f"{kind} before", slug=f"{kind}-meeting", service_body=office,
                     timezone="America/Los_Angeles")
    _writes_superuser()


def _writes_meeting(kind: str) -> Meeting:
    return Meeting.objects.get(slug=f"{kind}-meeting")


def writes_prepare(kind: str) -> dict:
    """The URL that will show `kind`'s write, and the text it will show."""
    if kind == "importer":
        # A keyword only the feed's meetings have.
        return {"url": "/api/v1/meetings/?q=Serenity", "expected": "Sunday Serenity"}
    if kind == "revert":
        meeting = _writes_meeting(kind)
        meeting.name = "revert after"
        meeting_save(meeting=meeting)
        return {"url": f"/api/v1/meetings/{kind}-meeting/", "expected": "revert before"}
    if kind == "type_code":
        # Rows name their types from a map kept per directory version (meetings/rows.py).
        _writes_meeting(kind).types.add(MeetingType.objects.get(fellowship__slug="aa", code="D"))
        return {"url": f"/api/v1/meetings/{kind}-meeting/", "expected": '"DISC"'}
    if kind == "service_body_slug":
        # A bulk rename of the service body a kept answer names (no save(), no signal of its own).
        meeting = _writes_meeting(kind)
        meeting.service_body = ServiceBodyFactory(name="Renamed Office", slug="renamed-office-before",
                                                  fellowship=meeting.fellowship)
        meeting_save(meeting=meeting)
        return {"url": f"/api/v1/meetings/{kind}-meeting/", "expected": '"renamed-office-after"'}
    return {"url": f"/api/v1/meetings/{kind}-meeting/", "expected": f"{kind} after"}


def writes_write(kind: str) -> None:
    new_name = f"{kind} after"
    if kind == "service":
        meeting = _writes_meeting(kind)
        meeting.name = new_name
        meeting_save(meeting=meeting)
    elif kind == "importer":
        from django.core.management import call_command

        call_command("import_feed", str(WRITES_FEED), "--fellowship", "aa", "--service-body", WRITES_OFFICE, verbosity=0)
    elif kind == "admin":
        from django.test import Client

        client = Client()
        client.force_login(_writes_superuser())
        meeting = _writes_meeting(kind)
        response = client.post(reverse("admin:meetings_meeting_change", args=[meeting.pk]),
                               meeting_form_data(meeting, name=new_name))
        assert response.status_code == 302, response.content[:2000]
    elif kind == "change_request":
        from meetings.change_requests import change_request_approve, change_request_submit

        request = change_request_submit(description="renamed", proposed={"name": new_name}, meeting=_writes_meeting(kind))
        change_request_approve(change_request=request, user=_writes_superuser())
    elif kind == "revert":
        from meetings.services import history_revert

        history_revert(record=_writes_meeting(kind).history.order_by("-history_id").first(), user=_writes_superuser())
    elif kind == "bulk_update":
        Meeting.objects.filter(slug=f"{kind}-meeting").update(name=new_name)
    elif kind == "type_code":
        MeetingType.objects.filter(fellowship__slug="aa", code="D").update(code="DISC")
    elif kind == "service_body_slug":
        ServiceBody.objects.filter(slug="renamed-office-before").update(slug="renamed-office-after")
    else:
        raise ValueError(kind)


def child_database_url() -> str:
    """The URL of the test database, for a process a test starts (a worker, gunicorn)."""
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
