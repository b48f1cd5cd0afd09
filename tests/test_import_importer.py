import datetime as dt
import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from geopy.location import Location as GeopyLocation
from geopy.point import Point as GeopyPoint

from fellowships.models import Fellowship, ServiceBody
from django.urls import reverse

from meetings.feeds.importer import HeldRunSuperseded, feed_import, import_feed_text, import_records, import_run_approve
from meetings.models import ImportRun, Meeting, Region
from meetings.services import meeting_lock_fields, meeting_release_lock, meeting_save
from tests.factories import BMLT_FORMATS, bmlt_record, feed_record, make_source, message_texts, run_feed

FEEDS = Path(__file__).resolve().parent.parent / "fixtures" / "feeds"


@pytest.fixture
def source(vocabularies):
    return make_source()


def test_first_import_creates_meetings_with_derived_fields(source):
    run = run_feed(source, [feed_record(1), feed_record(2, types="C,W", conference_url="https://zoom.us/j/5550100")])
    assert (run.status, run.created, run.rejected) == ("succeeded", 2, 0)
    first, second = Meeting.objects.order_by("source_key")
    assert (first.slug, first.open_closed, first.attendance, first.timezone) == (
        "m1", "open", "in_person", "America/Los_Angeles")
    assert (second.open_closed, second.attendance, second.conference_provider) == ("closed", "hybrid", "Zoom")
    assert sorted(t.code for t in second.types.all()) == ["C", "W"]
    assert first.feed_source == source and first.source_key == "m1"


def test_unchanged_reimport_writes_nothing(source):
    records = [feed_record(n) for n in range(20)]
    run_feed(source, records)
    with CaptureQueriesContext(connection) as queries:
        run = run_feed(source, records)
    writes = [q["sql"] for q in queries if q["sql"].split()[0] in ("INSERT", "UPDATE", "DELETE")
              and "meetings_meeting" in q["sql"].split("(")[0] + q["sql"][:60]]
    assert (run.unchanged, run.created, run.updated) == (20, 0, 0)
    assert writes == []


def test_changed_record_updates_in_place_and_slug_stays(source):
    run_feed(source, [feed_record(1)])
    meeting = Meeting.objects.get()
    run = run_feed(source, [feed_record(1, name="Renamed", time="6:30 PM")])
    meeting_after = Meeting.objects.get()
    assert (run.updated, meeting_after.pk, meeting_after.slug, meeting_after.name, str(meeting_after.time)) == (
        1, meeting.pk, "m1", "Renamed", "18:30:00")


def test_a_changed_record_writes_only_the_columns_that_changed(source):
    """bulk_update writes a CASE per column and row: every column of every
    changed meeting made a re-import with 30% changed records 2.6x slower
    than the first import (bench/README.md, "A changed re-import")."""
    records = [feed_record(n) for n in range(6)]
    run_feed(source, records)
    changed = [feed_record(n, name=f"Renamed {n}") if n < 2 else feed_record(n, notes="Ring the bell.")
               if n < 4 else records[n] for n in range(6)]
    with CaptureQueriesContext(connection) as queries:
        run = run_feed(source, changed)
    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "meetings_meeting" SET')]
    assert run.updated == 4
    assert len(updates) == 2, updates
    for sql in updates:
        columns = sql.split(" SET ", 1)[1].split(" WHERE ", 1)[0]
        assert '"updated" =' in columns and '"content_hash" =' in columns
        assert '"conference_phone_notes" =' not in columns and '"latitude" =' not in columns
        assert ('"name" =' in columns) != ('"notes" =' in columns)
    assert [m.name for m in Meeting.objects.order_by("source_key")[:2]] == ["Renamed 0", "Renamed 1"]
    assert Meeting.objects.get(source_key="m3").notes == "Ring the bell."
    assert Meeting.objects.get(source_key="m4").name == records[4]["name"]


def test_a_changed_re_import_costs_the_same_statements_for_any_number_of_meetings(source):
    """Deriving open/closed reads a changed meeting's fellowship: it comes with
    the rows, not one query per meeting (10% of a re-import of 10,000 changed
    records on PostgreSQL, bench/README.md, round 13)."""
    def statements(count: int) -> list[str]:
        Meeting.objects.all().delete()
        run_feed(source, [feed_record(n) for n in range(count)])
        with CaptureQueriesContext(connection) as queries:
            run = run_feed(source, [feed_record(n, name=f"Renamed {n}") for n in range(count)])
        assert run.updated == count
        return [q["sql"] for q in queries]

    few, more = statements(3), statements(12)
    assert len(more) == len(few), [sql for sql in more if "fellowships_fellowship" in sql][:3]


def test_region_paths_find_the_stored_regions_at_once_and_make_the_missing_ones(source):
    """A place is filed under the region at the end of its record's path: the
    stored region of that name under the same parent (the oldest of two), else
    one made with a slug of the path. The stored regions are read at once,
    not once for each region the feed names (the sample data names 29)."""
    california = Region.objects.create(slug="ca", name="California")
    Region.objects.create(slug="ca-later", name="California")
    Region.objects.create(slug="nv-irvine", name="Irvine", parent=Region.objects.create(slug="nv", name="Nevada"))
    cities = [Region.objects.create(slug=f"city-{n}", name=f"City {n}", parent=california) for n in range(5)]
    records = [feed_record(n, regions=["California", f"City {n}"]) for n in range(5)]
    with CaptureQueriesContext(connection) as queries:
        run = run_feed(source, [*records, feed_record(5, regions=["California", "Irvine"])])
    assert run.created == 6
    placed = {m.source_key: m.location.region for m in Meeting.objects.select_related("location__region")}
    assert [placed[f"m{n}"] for n in range(5)] == cities
    assert (placed["m5"].slug, placed["m5"].name, placed["m5"].parent) == ("california-irvine", "Irvine", california)
    reads = [q["sql"] for q in queries if q["sql"].startswith('SELECT') and 'FROM "meetings_region"' in q["sql"]]
    assert len(reads) == 2, reads  # the stored regions of the feed's names; the slug of the one made


def test_vanished_meeting_is_removed_not_deleted_and_restored(source):
    records = [feed_record(n) for n in range(10)]
    run_feed(source, records)
    run = run_feed(source, records[1:])
    gone = Meeting.objects.get(source_key="m0")
    assert (run.removed, gone.removed, gone.removed_at is not None) == (1, True, True)
    assert not Meeting.objects.published().filter(pk=gone.pk).exists()
    run = run_feed(source, records)
    gone.refresh_from_db()
    assert (run.restored, gone.removed, gone.slug) == (1, False, "m0")
    assert Meeting.objects.published().filter(pk=gone.pk).exists()


def test_rejected_record_does_not_remove_its_meeting(source):
    records = [feed_record(n) for n in range(5)]
    run_feed(source, records)
    run = run_feed(source, records[:4] + [feed_record(4, time="whenever")])
    assert (run.rejected, run.removed) == (1, 0)
    assert run.issues.get().reason == "time 'whenever' is not a time"
    assert not Meeting.objects.get(source_key="m4").removed


@pytest.mark.parametrize("text, reason", [
    ("[]", "empty list"),
    ("<html><body>502 Bad Gateway</body></html>", "HTML"),
    ('[{"slug": "m1", "name": "Meeting 1", "day": 1', "truncated"),
    ("{not json at all} []", "not valid JSON"),
])
def test_shrink_guard_holds_unreadable_or_empty_feeds(source, text, reason):
    run_feed(source, [feed_record(n) for n in range(5)])
    before = list(Meeting.objects.values_list("id", "updated", "removed"))
    run = import_feed_text(source=source, text=text)
    assert run.status == ImportRun.Status.HELD and reason in run.reason
    assert list(Meeting.objects.values_list("id", "updated", "removed")) == before
    source.refresh_from_db()
    assert source.last_status == "held"


def test_shrink_guard_holds_a_big_drop_and_admin_approves(source):
    run_feed(source, [feed_record(n) for n in range(10)])
    run = run_feed(source, [feed_record(n) for n in range(6)])
    assert run.status == "held" and "remove 4 of 10" in run.reason
    assert Meeting.objects.filter(removed=True).count() == 0
    approved = import_run_approve(run=run)
    assert (approved.pk, approved.status, approved.removed) == (run.pk, "succeeded", 4)
    assert approved.approved_at is not None and approved.payload == ""
    assert Meeting.objects.filter(removed=True).count() == 4


def test_approving_a_held_run_keeps_what_a_curator_changed_meanwhile(source):
    """A held run's feed is applied as fetched, by the same rules as any run: a name a curator
    changed before it was held, or while it waited, stays theirs, the feed's word noted."""
    run_feed(source, [feed_record(n) for n in range(10)])
    before = Meeting.objects.get(source_key="m0")
    before.name = "Curated before"
    meeting_save(meeting=before)
    meeting_lock_fields(meeting=before, fields=["name"])
    held = run_feed(source, [feed_record(n, name=f"Feed {n}", time="20:00") for n in range(6)])
    assert held.status == "held"
    meanwhile = Meeting.objects.get(source_key="m1")
    meanwhile.name, meanwhile.time = "Curated meanwhile", dt.time(18, 15)
    meeting_save(meeting=meanwhile)
    meeting_lock_fields(meeting=meanwhile, fields=["name", "time"])
    approved = import_run_approve(run=held)
    assert (approved.status, approved.updated, approved.removed) == ("succeeded", 6, 4)
    kept = {m.source_key: (m.name, m.time) for m in Meeting.objects.filter(source_key__in=["m0", "m1", "m2"])}
    assert kept == {"m0": ("Curated before", dt.time(20, 0)), "m1": ("Curated meanwhile", dt.time(18, 15)),
                    "m2": ("Feed 2", dt.time(20, 0))}
    assert sorted(approved.issues.filter(field__startswith="name").values_list("record_key", "field")) == [
        ("m0", "name"), ("m1", "name, time")]


def test_shrink_guard_share_is_configurable(source):
    source.shrink_guard_share = 0.5
    source.save()
    run_feed(source, [feed_record(n) for n in range(10)])
    assert run_feed(source, [feed_record(n) for n in range(6)]).status == "succeeded"


# A held run that a later run superseded ------------------------------------------

def test_a_held_run_a_later_run_superseded_cannot_be_approved(source):
    """Approving it applied its old, shrunken feed over the newer directory
    (and a 304 then kept it so): it is marked superseded when the later run
    ends, and its approval is refused."""
    full = [feed_record(n) for n in range(10)]
    run_feed(source, full)
    held = run_feed(source, full[:4])
    assert held.status == "held"
    later = run_feed(source, [feed_record(n, name=f"New name {n}") for n in range(10)])
    assert (later.status, later.updated) == ("succeeded", 10)
    held.refresh_from_db()
    assert held.status == "failed" and held.payload == ""
    assert held.reason.startswith(f"superseded by run {later.pk} of ") and "(succeeded)" in held.reason
    with pytest.raises(HeldRunSuperseded, match=f"run {held.pk} was superseded by run {later.pk} "):
        import_run_approve(run=held)
    assert not Meeting.objects.filter(removed=True).exists()
    assert set(Meeting.objects.values_list("name", flat=True)) == {f"New name {n}" for n in range(10)}
    assert ImportRun.objects.filter(approved_at__isnull=False).count() == 0


def test_of_two_held_runs_only_the_newer_can_be_approved(source):
    run_feed(source, [feed_record(n) for n in range(10)])
    older = run_feed(source, [feed_record(n) for n in range(4)])
    newer = run_feed(source, [feed_record(n) for n in range(5)])
    assert newer.status == "held"
    older.refresh_from_db()
    assert older.status == "failed" and older.reason.startswith(f"superseded by run {newer.pk} ")
    with pytest.raises(HeldRunSuperseded):
        import_run_approve(run=older)
    approved = import_run_approve(run=newer)
    assert (approved.status, approved.removed) == ("succeeded", 5)


def test_a_held_run_left_held_beside_a_later_run_is_refused_and_marked(source):
    """Runs held before superseding was recorded (or a race lost to the
    later run) are checked at approval, under the source's claim."""
    run_feed(source, [feed_record(n) for n in range(10)])
    held = run_feed(source, [feed_record(n) for n in range(4)])
    payload, reason = ImportRun.objects.filter(pk=held.pk).values_list("payload", "reason").get()
    later = run_feed(source, [feed_record(n) for n in range(10)])
    ImportRun.objects.filter(pk=held.pk).update(status="held", payload=payload, reason=reason)
    held.refresh_from_db()
    with pytest.raises(HeldRunSuperseded, match=f"superseded by run {later.pk} "):
        import_run_approve(run=held)
    held.refresh_from_db()
    assert (held.status, held.payload, held.approved_at) == ("failed", "", None)
    assert not Meeting.objects.filter(removed=True).exists()


def test_a_later_failed_run_does_not_supersede_a_held_one(source):
    run_feed(source, [feed_record(n) for n in range(10)])
    held = run_feed(source, [feed_record(n) for n in range(4)])
    source.url = "file:///etc/passwd"  # refused: the run fails, nothing was fetched
    source.save()
    assert feed_import(source_id=source.pk).status == "failed"
    assert import_run_approve(run=held).status == "succeeded"


def test_the_admin_says_which_held_run_was_superseded(source, admin_client):
    run_feed(source, [feed_record(n) for n in range(10)])
    held = run_feed(source, [feed_record(n) for n in range(4)])
    ImportRun.objects.filter(pk=held.pk).update(status="held")  # as if never marked
    later = run_feed(source, [feed_record(n) for n in range(10)])
    ImportRun.objects.filter(pk=held.pk).update(status="held")
    response = admin_client.post(reverse("admin:meetings_importrun_changelist"),
                                 {"action": "approve", "_selected_action": [held.pk]}, follow=True)
    (text,) = message_texts(response)
    assert text.startswith(f"oc: run {held.pk} was not applied: a later run of this source succeeded or was held")
    assert f"superseded by run {later.pk}" in text
    # Asked again, it says so again (in the curator's language).
    response = admin_client.post(reverse("admin:meetings_importrun_changelist"),
                                 {"action": "approve", "_selected_action": [held.pk]}, follow=True,
                                 HTTP_ACCEPT_LANGUAGE="es")
    assert message_texts(response)[0].startswith(f"oc: la importación {held.pk} no se aplicó")
    assert not Meeting.objects.filter(removed=True).exists()


# The shrink guard counts meetings the feed unpublishes ------------------------------

@pytest.fixture
def bmlt_source(vocabularies):
    return make_source("bm", fellowship="na", format="bmlt")


def _bmlt_run(source, records):
    return import_records(records=records, source=source, format="bmlt", bmlt_formats=BMLT_FORMATS)


def test_shrink_guard_holds_a_feed_that_unpublishes_its_meetings(bmlt_source):
    assert _bmlt_run(bmlt_source, [bmlt_record(id_bigint=str(n)) for n in range(10)]).created == 10
    run = _bmlt_run(bmlt_source, [bmlt_record(id_bigint=str(n), published="0") for n in range(10)])
    assert run.status == "held"
    assert run.reason == "the feed would unpublish 10 of 10 meetings (100%, more than the 30% allowed)"
    assert Meeting.objects.published().count() == 10


def test_shrink_guard_counts_removed_and_unpublished_together(bmlt_source):
    _bmlt_run(bmlt_source, [bmlt_record(id_bigint=str(n)) for n in range(10)])
    records = [bmlt_record(id_bigint=str(n), published="0" if n < 2 else "1") for n in range(8)]
    run = _bmlt_run(bmlt_source, records)
    assert run.status == "held" and run.reason.startswith("the feed would remove 2 and unpublish 2 of 10 meetings (40%")


def test_shrink_guard_leaves_out_meetings_whose_publishing_a_curator_keeps(bmlt_source):
    _bmlt_run(bmlt_source, [bmlt_record(id_bigint=str(n)) for n in range(10)])
    for meeting in Meeting.objects.order_by("source_key")[:2]:
        meeting_lock_fields(meeting=meeting, fields=["published"])
    run = _bmlt_run(bmlt_source, [bmlt_record(id_bigint=str(n), published="0" if n < 4 else "1")
                                  for n in range(10)])
    assert (run.status, run.updated) == ("succeeded", 4)  # 2 of 10 leave the listing: 20%
    assert Meeting.objects.published().count() == 8


# Curated values kept over a new feed value are reported ---------------------------

def test_a_run_notes_each_meeting_that_kept_a_curators_value_over_a_new_feed_value(source, admin_client):
    run_feed(source, [feed_record(n) for n in range(4)])
    for key in ("m1", "m2", "m3"):
        meeting = Meeting.objects.get(source_key=key)
        meeting.name, meeting.time = "Curated name", dt.time(20, 0)
        meeting_save(meeting=meeting)
        meeting_lock_fields(meeting=meeting, fields=["name", "time"])
    run = run_feed(source, [
        feed_record(0, name="Renamed 0"),  # not curated: the feed's word, no note
        feed_record(1, name="Feed rename", time="18:00"),
        feed_record(2, notes="Ring the bell"),  # the feed's name and time are as before: no note
        feed_record(3, name="Curated name", time="20:00"),  # the feed agrees with the curator now
    ])
    assert (run.status, run.updated) == ("succeeded", 4)
    assert list(run.issues.values_list("kind", "record_key", "field", "reason")) == [
        ("repaired", "m1", "name, time", "kept the curator's name, time; the feed now says name 'Feed rename'; "
                                         "time 18:00")]
    assert Meeting.objects.get(source_key="m1").name == "Curated name"
    page = admin_client.get(reverse("admin:meetings_importrun_change", args=[run.pk])).content.decode()
    assert "the feed now says name &#x27;Feed rename&#x27;; time 18:00" in page


def test_notes_of_kept_curated_values_are_bounded(source, settings):
    settings.FEEDS_PARSE_MAX_ISSUES = 2
    run_feed(source, [feed_record(n) for n in range(5)])
    for meeting in Meeting.objects.all():
        meeting.name = "Curated"
        meeting_save(meeting=meeting)
    run = run_feed(source, [feed_record(n, name=f"Feed {n}") for n in range(5)])
    reasons = list(run.issues.values_list("record_key", "reason"))
    assert reasons[:2] == [("m0", "kept the curator's name; the feed now says name 'Feed 0'"),
                           ("m1", "kept the curator's name; the feed now says name 'Feed 1'")]
    assert reasons[-1] == ("", "kept the curator's values on 3 more meetings, not listed")
    assert run.issues_left_out == 3


def test_curated_field_is_kept_shown_beside_and_releasable(source):
    run_feed(source, [feed_record(1, notes="Side door")])
    meeting = Meeting.objects.get()
    meeting.name = "Curated Name"
    meeting_save(meeting=meeting)
    run = run_feed(source, [feed_record(1, name="Feed Name", notes="Front door")])
    meeting.refresh_from_db()
    assert run.updated == 1
    assert (meeting.name, meeting.notes, meeting.locked_fields) == ("Curated Name", "Front door", ["name"])
    assert meeting.feed_values["name"] == "Feed Name"
    run_feed(source, [feed_record(1, name="Feed Name 2", notes="Front door")])
    meeting.refresh_from_db()
    assert (meeting.name, meeting.feed_values["name"]) == ("Curated Name", "Feed Name 2")
    meeting_release_lock(meeting=meeting, field="name")
    meeting.refresh_from_db()
    assert (meeting.name, meeting.locked_fields) == ("Feed Name 2", [])


def test_a_feed_change_only_to_curated_fields_writes_no_history_row(source, client):
    """The curator's values are kept and nothing public changed: the feed's
    copy is stored, but no empty change shows in the history or the feed."""
    run_feed(source, [feed_record(1), feed_record(2)])
    meeting = Meeting.objects.get(source_key="m1")
    meeting.name = "Curated Name"
    meeting_save(meeting=meeting)
    meeting_lock_fields(meeting=meeting, fields=["name"])
    rows = meeting.history.count()
    changes = client.get("/api/v1/changes/", {"limit": 500}).json()["count"]
    run = run_feed(source, [feed_record(1, name="Feed Name"), feed_record(2, notes="Front door")])
    meeting.refresh_from_db()
    assert (run.status, meeting.name, meeting.feed_values["name"]) == ("succeeded", "Curated Name", "Feed Name")
    assert meeting.history.count() == rows
    # The other meeting's change is recorded, and it is the feed's only new change.
    [change] = client.get("/api/v1/changes/", {"limit": 500}).json()["results"][changes:]
    assert (change["object_id"], change["changes"]) == (
        Meeting.objects.get(source_key="m2").pk, {"notes": {"old": "", "new": "Front door"}})


def test_curated_types_are_kept(source, vocabularies):
    run_feed(source, [feed_record(1)])
    meeting = Meeting.objects.get()
    closed = source.fellowship.types.get(code="C")
    meeting_save(meeting=meeting, types=[closed])
    run_feed(source, [feed_record(1, types=["O", "BE"])])
    meeting.refresh_from_db()
    assert [t.code for t in meeting.types.all()] == ["C"] and meeting.open_closed == "closed"
    assert meeting.feed_values["types"] == ["BE", "O"] and meeting.locked_fields == ["types"]


def test_one_transaction_a_failure_mid_run_applies_nothing(source, apply_dies):
    run_feed(source, [feed_record(n) for n in range(3)])
    apply_dies(on_call=3)
    run = run_feed(source, [feed_record(n, name=f"New {n}") for n in range(5)])
    assert run.status == "failed" and "worker killed" in run.reason
    assert sorted(Meeting.objects.values_list("name", flat=True)) == ["Meeting 0", "Meeting 1", "Meeting 2"]


def test_types_map_into_the_fellowship_vocabulary_and_unknown_codes_are_reported(source):
    run = run_feed(source, [feed_record(1, types="Closed, BE, ZZZ, ONL")])
    meeting = Meeting.objects.get()
    assert sorted(t.code for t in meeting.types.all()) == ["BE", "C"]
    assert run.unknown_types == {"ZZZ": 1, "ONL": 1}


def test_unknown_codes_count_records_on_every_run(source):
    """A code counts the feed's records that use it: a record meeting on two
    days is one record, and a re-import of the same feed counts the same
    (its meetings unchanged), so does one with some of them updated."""
    records = [feed_record(n, day=[1, 2], types=["O", "ZZZ"]) for n in range(5)]
    records += [feed_record(9, types=["ZZZ", "ZZZ", "YYY"])]
    first = run_feed(source, records)
    assert (first.created, first.unknown_types) == (11, {"ZZZ": 6, "YYY": 1})
    again = run_feed(source, records)
    assert (again.unchanged, again.unknown_types) == (11, {"ZZZ": 6, "YYY": 1})
    records[0] = {**records[0], "name": "Renamed"}
    changed = run_feed(source, records)
    assert (changed.updated, changed.unchanged, changed.unknown_types) == (2, 9, {"ZZZ": 6, "YYY": 1})


def test_a_held_run_reports_its_unknown_codes(source):
    records = [feed_record(n, day=[1, 2], types=["ZZZ"]) for n in range(5)]
    run_feed(source, records)
    held = run_feed(source, records[:1])
    assert (held.status, held.unknown_types) == ("held", {"ZZZ": 1})
    assert import_run_approve(run=held).unknown_types == {"ZZZ": 1}


def test_same_letter_means_the_fellowships_own_type(vocabularies):
    al_anon = make_source("al-anon-d1", fellowship="al-anon")
    run_feed(al_anon, [feed_record(1, types=["Y"])])
    assert Meeting.objects.get().types.get().name == "Alateen"


def test_another_fellowships_meetings_in_a_feed_keep_their_meaning(vocabularies):
    """Found in review: re-importing the directory's unfiltered feed into an AA source read Al-Anon's own
    codes in AA's vocabulary (Alateen became Young People, Beginners Big Book, closed was lost). Only a
    record of the source's own fellowship is read in its own codes."""
    aa = make_source("aa-again")
    run = run_feed(aa, [
        feed_record(1, fellowship="al-anon", fellowship_types=["Y", "B"], types=["C", "BE"]),
        feed_record(2, fellowship="aa", fellowship_types=["Y", "B"], types=["O"]),
    ])
    types = {m.source_key: (sorted(t.code for t in m.types.all()), m.open_closed)
             for m in Meeting.objects.prefetch_related("types")}
    assert types == {"m1": (["BE", "C"], "closed"), "m2": (["B", "Y"], "")}
    assert [(i.record_key, i.field) for i in run.issues.all()] == [("m1", "fellowship")]


def test_slug_collision_across_sources_is_derived_deterministically(source):
    other = make_source("district")
    run_feed(source, [feed_record(1)])
    run_feed(other, [feed_record(1, latitude=40.0, longitude=-100.0, name="Elsewhere")])
    slugs = dict(Meeting.objects.values_list("feed_source__slug", "slug"))
    assert slugs["oc"] == "m1" and slugs["district"].startswith("m1-") and len(slugs["district"]) == 11
    Meeting.objects.filter(feed_source=other).delete()
    run_feed(other, [feed_record(1, latitude=40.0, longitude=-100.0, name="Elsewhere")])
    assert Meeting.objects.get(feed_source=other).slug == slugs["district"]


def test_same_meeting_from_two_sources_is_shown_once_with_both_recorded(source):
    district = make_source("district")
    run_feed(source, [feed_record(1, name="Serenity Group")])
    run = run_feed(district, [feed_record(1, name="Serenity", latitude=33.6815, slug="d-77")])
    primary = Meeting.objects.get(feed_source=source)
    copy = Meeting.objects.get(feed_source=district)
    assert run.duplicates == 1 and copy.duplicate_of == primary
    assert list(Meeting.objects.published()) == [primary]
    assert {d.feed_source.slug for d in primary.duplicates.all()} == {"district"}
    # The primary's feed drops it: the other source's copy is shown again.
    run_feed(source, [feed_record(2)], allow_shrink=True)
    copy.refresh_from_db()
    assert copy.duplicate_of is None and Meeting.objects.published().filter(pk=copy.pk).exists()


def test_different_meetings_at_one_place_are_not_duplicates(source):
    district = make_source("district")
    run_feed(source, [feed_record(1, name="Serenity Group")])
    run = run_feed(district, [feed_record(1, name="Living Sober Women", slug="d-78")])
    assert run.duplicates == 0


def fake_geocoder(found):
    def geocode(query):
        if found is None:
            return None
        return GeopyLocation(query, GeopyPoint(*found), {"timezone": ""})
    return geocode


def test_missing_coordinates_are_geocoded_and_zone_comes_from_the_point(source):
    record = feed_record(1, city="Denver", state="CO", postal_code="")
    del record["latitude"], record["longitude"]
    run = run_feed(source, [record], geocoder=fake_geocoder((39.74, -104.99)))
    meeting = Meeting.objects.get()
    assert run.status == "succeeded"
    assert (meeting.latitude, meeting.timezone, meeting.needs_review) == (39.74, "America/Denver", False)


def test_geocoding_failure_flags_the_meeting_and_never_blocks(source):
    record = feed_record(1, city="Nowhere", state="ZZ", postal_code="")
    del record["latitude"], record["longitude"]
    run = run_feed(source, [record, feed_record(2)], geocoder=fake_geocoder(None))
    meeting = Meeting.objects.get(source_key="m1")
    assert (run.status, run.created) == ("succeeded", 2)
    assert meeting.needs_review and meeting.review_reason.startswith("Location could not be geocoded")
    assert meeting.timezone == "America/Los_Angeles"  # the service body's default


def test_zone_from_record_wins_and_words_are_mapped(source):
    run_feed(source, [feed_record(1, timezone="Eastern"), feed_record(2, timezone="America/Chicago")])
    zones = dict(Meeting.objects.values_list("source_key", "timezone"))
    assert zones == {"m1": "America/New_York", "m2": "America/Chicago"}


def test_import_records_for_round_trips(vocabularies):
    aa = Fellowship.objects.get(slug="aa")
    body = ServiceBody.objects.create(slug="export-test", name="Export", fellowship=aa, timezone="America/Chicago")
    run = import_records(fellowship=aa, service_body=body, records=[feed_record(1), feed_record(2)])
    again = import_records(fellowship=aa, service_body=body, records=[feed_record(1), feed_record(2)])
    assert (run.created, again.unchanged, again.source_id) == (2, 2, run.source_id)


def test_real_meeting_guide_sample_imports_cleanly(source):
    text = (FEEDS / "code4recovery-pdf__tests-Fixtures-meetings.json").read_text()
    run = import_feed_text(source=source, text=text)
    assert (run.status, run.created, run.rejected) == ("succeeded", 25, 0)
    assert run.unknown_types == {"ONL": 2}  # removed from the spec; online comes from links
    attendance = dict(Meeting.objects.values_list("slug", "attendance"))
    assert attendance["sunday-serenity"] == "in_person"
    assert attendance["online-mondays"] == "inactive"  # no link: not online, place only a city
    assert attendance["closed-renovation"] == "inactive"
    assert dict(Meeting.objects.values_list("slug", "open_closed"))["womens-wed"] == "closed"
    assert set(Meeting.objects.values_list("timezone", flat=True)) == {"America/Chicago"}
    assert import_feed_text(source=source, text=text).unchanged == 25


def test_real_bmlt_samples_import_cleanly(vocabularies):
    na_source = make_source("yap", fellowship="na", format="bmlt", url="https://latest.aws.bmlt.app/main_server")
    text = (FEEDS / "bmlt_yap_latest-aws_GetSearchResults_geo_nearest50_weekday2_get_used_formats.json").read_text()
    run = import_feed_text(source=na_source, text=text, default_closed=True)
    assert (run.status, run.created, run.rejected) == ("succeeded", 53, 0)
    meeting = Meeting.objects.get(source_key="https://latest.aws.bmlt.app/main_server#2566")
    assert (meeting.day, meeting.open_closed, meeting.timezone) == (1, "open", "America/New_York")

    virtual = make_source("vna", fellowship="na", format="bmlt")
    formats = json.loads((FEEDS / "bmlt_virtual-na_GetFormats_for_tests.json").read_text())
    text = (FEEDS / "bmlt_virtual-na_testmock_GetSearchResults_2virtual.json").read_text()
    run = import_feed_text(source=virtual, text=text, bmlt_formats=formats)
    rows = Meeting.objects.filter(feed_source=virtual)
    assert run.status == "succeeded"
    assert {(m.attendance, m.open_closed, m.latitude, m.timezone) for m in rows} == {
        ("online", "closed", None, "America/Sao_Paulo"), ("online", "closed", None, "Europe/Moscow")}

    dijon = make_source("sezf", fellowship="na", format="bmlt")
    formats = json.loads((FEEDS / "bmlt_sezf_GetFormats_for_tests.json").read_text())
    text = (FEEDS / "bmlt_dijon-test-mock_GetSearchResults_fullfields_sezf.json").read_text()
    run = import_feed_text(source=dijon, text=text, bmlt_formats=formats)
    meeting = Meeting.objects.get(feed_source=dijon)
    assert (run.status, meeting.attendance, meeting.published) == ("succeeded", "inactive", False)
    assert run.unknown_types == {"key:To": 1}

    minimal = make_source("minimal", fellowship="na", format="bmlt")
    text = (FEEDS / "bmlt_yap_latest-aws_GetSearchResults_geo30mi_minimal_fields.json").read_text()
    run = import_feed_text(source=minimal, text=text)
    # Three fields a record: nothing to key a meeting on. Every record is
    # reported, and a feed with no usable record is held, not applied.
    assert (run.status, run.rejected, run.issues.count()) == ("held", 21, 21)


def test_a_slug_like_a_days_key_imports_and_then_changes_nothing(vocabularies):
    """A record "a" on two days and another record with slug "a@1": the
    first import succeeds, and the same feed again writes nothing."""
    first_source, source = make_source("mg1"), make_source("mg2")
    feed = [feed_record(1, slug="a", day=[1, 2]), feed_record(2, slug="a@1", name="Other meeting")]
    run = run_feed(first_source, feed)
    assert (run.status, run.created) == ("succeeded", 3), run.reason
    # A source that had only "a" before.
    assert run_feed(source, feed[:1]).created == 2
    run = run_feed(source, feed)
    assert (run.status, run.created, run.updated) == ("succeeded", 1, 1), run.reason
    for _ in range(2):
        run = run_feed(source, feed)
        assert (run.status, run.created, run.updated, run.unchanged) == ("succeeded", 0, 0, 3), run.reason
    assert Meeting.objects.get(source=source.meeting_source, source_key="a@1").name == "Other meeting"
