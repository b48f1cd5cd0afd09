"""The apply writes a feed's meetings FEEDS_APPLY_CHUNK at a time, inside
its one transaction (meetings/feeds/importer.py, Applier.apply): any chunk
size gives the same directory, history and report as one chunk, no chunk
holds more meetings than the setting, and a failure in a late chunk leaves
nothing of the run."""

from __future__ import annotations

import pytest
from django.db import transaction

from meetings.feeds import importer
from meetings.models import ImportIssue, ImportRun, Location, Meeting
from meetings.services import meeting_save
from tests.factories import feed_record, make_source, run_feed

HALL = {"address": "1 Main St", "latitude": 33.7, "longitude": -117.8, "location": "Hall A"}


def _first_feed() -> list[dict]:
    return [feed_record(n, **(HALL if n <= 5 else {})) for n in range(11)]


def _second_feed() -> list[dict]:
    records = []
    for n in range(1, 14):
        fields = dict(HALL) if n <= 5 or n in (11, 12) else {}
        if n in (2, 3):
            fields["name"] = f"Renamed {n}"
        if n == 4:
            fields["types"] = ["C", "BE", "ZZZ"]
        if n == 7:
            fields.update(address="70 Oak St", latitude=33.75, longitude=-117.85)
        if n == 9:
            fields["day"] = "Funday"  # rejected: m9 is not removed
        records.append(feed_record(n, **fields))
    return records


def _state() -> dict:
    """Everything an import writes, by natural keys (ids and times left out)."""
    def rows(queryset, *fields):
        return sorted(repr(row) for row in queryset.values_list(*fields))

    History = Meeting.history.model
    return {
        "meetings": rows(Meeting.objects, "source", "source_key", "slug", "name", "day", "time", "end_time",
                         "timezone", "latitude", "longitude", "location__source_key", "duplicate_of__source_key",
                         "removed", "locked_fields", "feed_values", "content_hash", "needs_review", "review_reason",
                         "open_closed", "attendance"),
        "types": rows(Meeting.types.through.objects, "meeting__source", "meeting__source_key", "meetingtype__code"),
        "locations": rows(Location.objects, "source", "source_key", "name", "address", "latitude", "longitude",
                          "timezone", "geocode_status", "locked_fields", "feed_values"),
        "meeting history": rows(History.objects, "source_key", "history_type", "name", "location__source_key",
                                "removed", "duplicate_of__source_key", "type_codes", "import_run__source__slug"),
        "location history": rows(Location.history.model.objects, "source_key", "history_type", "latitude",
                                 "import_run__source__slug"),
        "runs": list(ImportRun.objects.order_by("pk").values_list(
            "status", "reason", "records", "created", "updated", "unchanged", "removed", "restored", "duplicates",
            "rejected", "repaired", "unknown_types")),
        "issues": rows(ImportIssue.objects, "run__source__slug", "kind", "record_key", "field", "reason"),
    }


def _scenario(source, district) -> dict:
    run_feed(district, [feed_record(1, **HALL)])  # the same meeting, there first: a duplicate, and slug m1 is taken
    run_feed(source, _first_feed())
    curated = Meeting.objects.get(source_key="m3", feed_source=source)
    curated.name = "Curated Name"
    meeting_save(meeting=curated)
    moved = Meeting.objects.get(source_key="m7").location
    Location.objects.filter(pk=moved.pk).update(latitude=33.71, longitude=-117.81, geocode_status="manual")
    run_feed(source, _second_feed())
    run_feed(source, _first_feed())  # m0 restored, m11-13 removed
    return _state()


def _scenario_rolled_back(source, district) -> dict:
    with transaction.atomic():
        state = _scenario(source, district)
        transaction.set_rollback(True)
    return state


@pytest.fixture
def sources(vocabularies):
    return make_source(), make_source("district")


@pytest.mark.parametrize("chunk", [1, 2, 5])
def test_any_chunk_size_applies_as_one_chunk_does(sources, settings, chunk):
    settings.FEEDS_APPLY_CHUNK = 100_000
    whole = _scenario_rolled_back(*sources)
    assert Meeting.objects.count() == 0
    settings.FEEDS_APPLY_CHUNK = chunk
    assert _scenario_rolled_back(*sources) == whole
    # The scenario does what it is meant to: a duplicate, a curated name, a pin kept, a removal restored.
    assert "('m3', '~', 'Curated Name'" in " ".join(whole["meeting history"])
    # created, updated, unchanged, removed, restored, duplicates
    assert [r[3:9] for r in whole["runs"]] == [
        (1, 0, 0, 0, 0, 0), (11, 0, 0, 0, 0, 1), (3, 4, 5, 1, 0, 0), (0, 4, 6, 3, 1, 0)]
    assert "Curated Name" in " ".join(whole["meetings"]) and "33.71, -117.81" in " ".join(whole["meetings"])


def test_no_chunk_holds_more_meetings_than_the_setting(sources, settings, monkeypatch):
    source, _ = sources
    settings.FEEDS_APPLY_CHUNK = 4
    sizes = []
    real = importer.mark_duplicates

    def counted(*, meetings, source):
        sizes.append(len(meetings))
        return real(meetings=meetings, source=source)

    monkeypatch.setattr(importer, "mark_duplicates", counted)
    run = run_feed(source, [feed_record(n) for n in range(10)])
    assert (run.status, run.created, sizes) == ("succeeded", 10, [4, 4, 2])
    sizes.clear()
    run = run_feed(source, [feed_record(n, name=f"Renamed {n}") for n in range(11)])
    assert (run.created, run.updated, sizes) == (1, 10, [1, 4, 4, 2])


def test_a_failure_in_a_late_chunk_applies_nothing(sources, settings, apply_dies):
    source, _ = sources
    settings.FEEDS_APPLY_CHUNK = 2
    run_feed(source, [feed_record(n) for n in range(3)])
    before = _state()
    apply_dies(on_call=7)  # in the fourth chunk
    run = run_feed(source, [feed_record(n, name=f"New {n}", address=f"{n} Elm St") for n in range(8)])
    assert run.status == "failed" and "worker killed" in run.reason
    after = _state()
    # Only the failed run's own row and its (empty) issue list are new.
    assert after["runs"][:-1] == before["runs"] and after["runs"][-1][0] == "failed"
    assert {k: v for k, v in after.items() if k != "runs"} == {k: v for k, v in before.items() if k != "runs"}
