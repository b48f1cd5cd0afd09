"""A feed writes only its service body's listings: a meeting a person moved
to another body is that body's now, and the old feed, whose curators could
not reach it in the admin, leaves it alone (no rename, no removal, no
duplicate made in its place), saying so in the run's report. A feed source
given to another body takes its listings with it."""

import json

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command

from fellowships.models import Fellowship
from meetings.curation import curator_assign, feed_sources_curated_by, meetings_curated_by
from meetings.directory_version import directory_version
from meetings import services
from meetings.feeds.claims import SourceBusy, source_claim_release, source_claim_take
from meetings.keywords import meeting_languages
from meetings.models import FeedSource, Meeting
from meetings.services import feed_source_save, meeting_save
from tests.factories import (ServiceBodyFactory, change_url, feed_record, feed_source_form_data, make_source,
                             meeting_form_data, message_texts, run_feed)


@pytest.fixture
def source(directory):
    source = make_source(service_body=directory.aa_office)
    return source


@pytest.fixture
def elsewhere(vocabularies):
    """Another AA body, not below the feed's."""
    return ServiceBodyFactory(name="LA Central Office")


def moved(key: str, body) -> Meeting:
    meeting = Meeting.objects.get(source_key=key)
    meeting.service_body = body
    meeting_save(meeting=meeting)
    return meeting


def test_a_meeting_a_superuser_moved_keeps_its_name_and_the_run_says_why(source, elsewhere, admin_client):
    run_feed(source, [feed_record(n) for n in range(4)])
    meeting = Meeting.objects.get(source_key="m1")
    response = admin_client.post(change_url(meeting), meeting_form_data(meeting, service_body=elsewhere.pk))
    assert response.status_code == 302

    run = run_feed(source, [feed_record(0), feed_record(1, name="Renamed by the old feed"),
                            feed_record(2, name="Renamed 2"), feed_record(3), feed_record(4)])

    meeting.refresh_from_db()
    assert (meeting.name, meeting.service_body, meeting.removed) == ("Meeting 1", elsewhere, False)
    # The feed's other meetings import as before.
    assert Meeting.objects.get(source_key="m2").name == "Renamed 2"
    assert (run.status, run.created, run.updated, run.unchanged, run.removed, run.skipped) == (
        "succeeded", 1, 1, 2, 0, 1)
    assert list(run.issues.values_list("kind", "record_key", "reason")) == [
        ("skipped", "m1", "left alone: its meeting (m1) now belongs to LA Central Office, not to "
                          "OC Central Office or a body below it")]
    page = admin_client.get(change_url(run)).content.decode()
    assert "now belongs to LA Central Office" in page


def test_a_moved_meeting_gone_from_the_old_feed_is_not_removed(source, elsewhere):
    records = [feed_record(n) for n in range(10)]
    run_feed(source, records)
    moved("m1", elsewhere)

    run = run_feed(source, [record for record in records if record["slug"] not in ("m1", "m2")])

    assert (run.status, run.removed, run.skipped) == ("succeeded", 1, 0)
    assert not Meeting.objects.get(source_key="m1").removed
    assert Meeting.objects.get(source_key="m2").removed


def test_the_old_feeds_record_makes_no_duplicate_run_after_run(source, elsewhere):
    """Keep the link and skip: the record still finds its meeting, so it is
    neither written to nor made again as a new meeting of the feed's body."""
    run_feed(source, [feed_record(n) for n in range(3)])
    moved("m1", elsewhere)
    for name in ("Renamed once", "Renamed twice"):
        run = run_feed(source, [feed_record(0), feed_record(1, name=name), feed_record(2)])
        assert (run.created, run.updated, run.unchanged, run.skipped) == (0, 0, 2, 1)
    assert Meeting.objects.count() == 3
    assert Meeting.objects.get(source_key="m1").name == "Meeting 1"


def test_a_moved_meeting_the_feed_had_removed_is_not_restored(source, elsewhere):
    records = [feed_record(n) for n in range(10)]
    run_feed(source, records)
    run_feed(source, records[1:])
    assert moved("m0", elsewhere).removed

    run = run_feed(source, records)

    assert (run.restored, run.skipped) == (0, 1)
    assert Meeting.objects.get(source_key="m0").removed


def test_a_record_without_a_slug_whose_meeting_moved_is_left_alone_and_not_made_again(source, elsewhere):
    """A record keyed on its content gets a new key when it changes; matched to
    its meeting by what they share, it is that meeting's record still."""
    def slugless(n: int, **fields) -> dict:
        record = feed_record(n, **fields)
        del record["slug"]
        return record

    run_feed(source, [slugless(n) for n in range(3)])
    meeting = Meeting.objects.get(name="Meeting 1")
    moved(meeting.source_key, elsewhere)

    run = run_feed(source, [slugless(0), slugless(1, time="19:30"), slugless(2)])

    meeting.refresh_from_db()
    assert (run.created, run.updated, run.removed, run.skipped) == (0, 0, 0, 1)
    assert (str(meeting.time), meeting.removed, Meeting.objects.count()) == ("19:00:00", False, 3)


def test_a_meeting_moved_to_a_body_below_the_feeds_is_still_the_feeds(source, directory):
    """As a curator of a body keeps the listings of the bodies below it."""
    run_feed(source, [feed_record(n) for n in range(3)])
    moved("m1", directory.aa_district)
    run = run_feed(source, [feed_record(0), feed_record(1, name="Renamed"), feed_record(2)])
    assert (run.updated, run.skipped) == (1, 0)
    assert Meeting.objects.get(source_key="m1").name == "Renamed"


def test_a_meeting_moved_back_takes_the_feed_again(source, elsewhere, directory):
    run_feed(source, [feed_record(n) for n in range(3)])
    moved("m1", elsewhere)
    run_feed(source, [feed_record(0), feed_record(1, name="Renamed"), feed_record(2)])
    moved("m1", directory.aa_office)

    run = run_feed(source, [feed_record(0), feed_record(1, name="Renamed"), feed_record(2)])

    assert (run.updated, run.skipped) == (1, 0)
    assert Meeting.objects.get(source_key="m1").name == "Renamed"


def test_a_meeting_moved_into_the_feeds_body_is_not_the_feeds(source, directory, elsewhere):
    """Moved in from another body's feed, or made by hand: this feed matches
    only its own records, so it never writes to such a meeting."""
    other_feed = make_source("la", service_body=elsewhere)
    run_feed(other_feed, [feed_record(7, name="From LA")])
    moved("m7", directory.aa_office)

    run = run_feed(source, [feed_record(7, name="Same key here")])

    assert run.created == 1
    came_in = Meeting.objects.get(source=other_feed.meeting_source)
    assert (came_in.name, came_in.service_body) == ("From LA", directory.aa_office)
    assert run_feed(other_feed, [feed_record(7, name="Renamed in LA")]).skipped == 1
    assert Meeting.objects.get(pk=came_in.pk).name == "From LA"


def test_the_command_lists_the_records_left_alone(source, elsewhere, tmp_path, capsys):
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([feed_record(n) for n in range(3)]))
    source.url = str(path)
    source.save()
    call_command("import_feed", source.slug)
    moved("m1", elsewhere)
    capsys.readouterr()

    call_command("import_feed", source.slug)

    out = capsys.readouterr().out
    assert "unchanged 2, removed 0, rejected 0, skipped 1" in out
    assert "skipped m1: left alone: its meeting (m1) now belongs to LA Central Office" in out


# A feed source given to another service body hands its listings over.

@pytest.fixture
def north(vocabularies):
    """Another AA body, not below the feed's, whose meetings are in Spanish unless their types say otherwise."""
    return ServiceBodyFactory(name="North County Office", default_language="es")


@pytest.fixture
def handed(source, directory, elsewhere):
    """The feed's four meetings: m0 and m1 in its body, m2 that a person put
    in the body below it (still the feed's), m3 that a person gave another body."""
    run_feed(source, [feed_record(n) for n in range(4)])
    moved("m2", directory.aa_district)
    moved("m3", elsewhere)
    return source


def bodies() -> dict[str, str]:
    return dict(Meeting.objects.order_by("source_key").values_list("source_key", "service_body__name"))


def given(source: FeedSource, body, *, user=None, fellowship: str | None = None) -> int:
    source.service_body = body
    if fellowship:
        source.fellowship = Fellowship.objects.get(slug=fellowship)
    return feed_source_save(source=source, user=user)


def test_giving_a_feed_to_another_body_hands_its_meetings_over_with_their_history(handed, north, admin_user):
    version = directory_version()
    left_alone_history = Meeting.objects.get(source_key="m3").history.count()

    assert given(handed, north, user=admin_user) == 3

    assert bodies() == {"m0": "North County Office", "m1": "North County Office", "m2": "North County Office",
                        "m3": "LA Central Office"}
    assert FeedSource.objects.get(pk=handed.pk).service_body == north
    assert directory_version().number > version.number
    meeting = Meeting.objects.get(source_key="m0")
    # What a meeting derives from its body follows: its types name no language.
    assert meeting.language_text == meeting_languages((), "es")
    record = meeting.history.order_by("-history_id").first()
    assert (record.service_body_id, record.history_user, record.history_change_reason) == (
        north.pk, admin_user, "moved with its feed source")
    assert Meeting.objects.get(source_key="m3").history.count() == left_alone_history


def test_the_next_import_updates_the_handed_over_meetings_and_skips_only_the_one_a_person_moved(handed, north):
    given(handed, north)

    run = run_feed(handed, [feed_record(0, name="Renamed 0"), feed_record(1), feed_record(2, name="Renamed 2"),
                            feed_record(3, name="Renamed 3"), feed_record(4)])

    assert (run.status, run.created, run.updated, run.unchanged, run.removed, run.skipped) == (
        "succeeded", 1, 2, 1, 0, 1)
    assert list(run.issues.values_list("record_key", "reason")) == [
        ("m3", "left alone: its meeting (m3) now belongs to LA Central Office, not to North County Office or a "
               "body below it")]
    assert dict(Meeting.objects.values_list("source_key", "name"))["m2"] == "Renamed 2"
    assert bodies()["m4"] == "North County Office"


def test_the_new_bodys_curators_keep_the_meetings_and_the_old_bodys_no_longer_reach_them(handed, north, directory):
    north_curator = get_user_model().objects.create_user("north-volunteer", "north@example.org", "not-a-password")
    curator_assign(user=north_curator, service_bodies=[north])
    feed = Meeting.objects.filter(source=handed.meeting_source)

    def reached(user) -> list[str]:
        return sorted(meetings_curated_by(user=user, queryset=feed).values_list("source_key", flat=True))

    assert (reached(directory.aa_curator), reached(north_curator)) == (["m0", "m1", "m2"], [])
    given(handed, north)
    assert (reached(directory.aa_curator), reached(north_curator)) == ([], ["m0", "m1", "m2"])
    assert list(feed_sources_curated_by(user=north_curator)) == [handed]
    assert not feed_sources_curated_by(user=directory.aa_curator).exists()


def test_given_to_a_body_below_only_the_meetings_outside_it_move_and_given_back_up_none(handed, directory):
    assert given(handed, directory.aa_district) == 2
    assert bodies() == {"m0": "South County District", "m1": "South County District",
                        "m2": "South County District", "m3": "LA Central Office"}
    # The office keeps the listings of the district below it: its feed reaches them there.
    assert given(handed, directory.aa_office) == 0
    assert bodies()["m0"] == "South County District"
    run = run_feed(handed, [feed_record(0, name="Renamed"), feed_record(1), feed_record(2), feed_record(3)])
    assert (run.updated, run.skipped) == (1, 1)


def test_only_the_service_gives_a_feed_another_body(handed, north):
    """A plain save (a shell, a script) would leave the feed's meetings in
    the old body, where the new body's curators never reach them and the
    next import skips each as another body's: refused, nothing changes."""
    office = handed.service_body
    handed.service_body = north
    with pytest.raises(ValueError, match="feed_source_save"):
        handed.save()
    assert FeedSource.objects.get(pk=handed.pk).service_body == office
    assert bodies()["m0"] == "OC Central Office"
    assert feed_source_save(source=handed) == 3
    assert bodies()["m0"] == "North County Office"
    # A copy read before the handover, saved with only other fields named, writes no body: not refused.
    stale = FeedSource.objects.get(pk=handed.pk)
    stale.service_body, stale.name = office, "OC feed, renamed"
    stale.save(update_fields=["name"])
    assert FeedSource.objects.get(pk=handed.pk).service_body == north


def test_a_queryset_write_of_a_feeds_body_is_refused_as_a_plain_save_is(handed, north):
    """`update` and `bulk_update` skip `save()`: they would hand the source
    over without its meetings. Refused whatever the spelling; its other
    fields are written as before."""
    office = handed.service_body
    sources = FeedSource.objects.filter(pk=handed.pk)
    for write in (lambda: sources.update(service_body=north), lambda: sources.update(service_body_id=north.pk),
                  lambda: FeedSource.objects.bulk_update([FeedSource(pk=handed.pk, service_body=north)],
                                                         ["service_body"])):
        with pytest.raises(ValueError, match="feed_source_save"):
            write()
    assert (FeedSource.objects.get(pk=handed.pk).service_body, bodies()["m0"]) == (office, "OC Central Office")
    assert sources.update(name="OC feed, renamed") == 1
    # The service still gives it another body, its meetings with it.
    source = FeedSource.objects.get(pk=handed.pk)
    source.service_body = north
    assert (feed_source_save(source=source), bodies()["m0"]) == (3, "North County Office")


def test_saving_a_feed_source_in_its_own_body_writes_no_meeting(handed):
    version = directory_version()
    history = Meeting.history.count()
    handed.name = "OC feed, renamed"
    assert feed_source_save(source=handed) == 0
    assert FeedSource.objects.get(pk=handed.pk).name == "OC feed, renamed"
    assert (directory_version(), Meeting.history.count()) == (version, history)


def test_a_body_of_another_fellowship_than_the_feeds_meetings_is_refused_and_nothing_changes(handed, directory):
    """The source's fellowship and body changed together agree with each
    other, but not with the meetings the feed imported."""
    with pytest.raises(ValidationError) as refused:
        given(handed, directory.na_area, fellowship="na")
    assert refused.value.messages == ["Its meetings cannot go with it: OC NA Area keeps Narcotics Anonymous "
                                      "meetings, not Alcoholics Anonymous."]
    assert FeedSource.objects.filter(pk=handed.pk).values_list("service_body", "fellowship__slug").get() == (
        directory.aa_office.pk, "aa")
    assert bodies()["m0"] == "OC Central Office"


def test_a_feed_being_imported_is_not_given_away_until_its_run_ends(handed, north, directory):
    """A run in progress read the old body: it would go on writing the old body's listings."""
    holder = source_claim_take(source_id=handed.pk)
    with pytest.raises(ValidationError) as refused:
        given(handed, north)
    assert "An import of this feed is running" in refused.value.messages[0]
    assert (FeedSource.objects.get(pk=handed.pk).service_body, bodies()["m0"]) == (
        directory.aa_office, "OC Central Office")
    source_claim_release(source_id=handed.pk, holder=holder)
    assert given(handed, north) == 3


def test_a_run_that_claims_the_feed_after_the_check_still_stops_the_handover(handed, north, directory, monkeypatch):
    """The check and the move are two steps: the move holds the source's
    claim itself, so a run that started between them refuses it whole."""
    holder = source_claim_take(source_id=handed.pk)
    monkeypatch.setattr(services, "source_busy", lambda **kwargs: False)  # the check ran before the run started
    with pytest.raises(SourceBusy):
        given(handed, north)
    source_claim_release(source_id=handed.pk, holder=holder)
    assert (FeedSource.objects.get(pk=handed.pk).service_body, bodies()["m0"]) == (
        directory.aa_office, "OC Central Office")


class TestTheAdmin:
    def test_a_run_that_claims_the_feed_during_the_save_is_an_error_message_not_a_500(
            self, handed, north, admin_client, monkeypatch):
        holder = source_claim_take(source_id=handed.pk)
        monkeypatch.setattr(services, "source_busy", lambda **kwargs: False)  # the form's check ran before the run
        response = admin_client.post(change_url(handed), feed_source_form_data(handed, service_body=north.pk),
                                     follow=True)
        source_claim_release(source_id=handed.pk, holder=holder)
        assert response.status_code == 200
        assert any("An import of this feed started" in text for text in message_texts(response))
        assert (FeedSource.objects.get(pk=handed.pk).service_body.name, bodies()["m0"]) == (
            "OC Central Office", "OC Central Office")

    def test_it_says_what_will_go_with_the_feed_and_then_what_went(self, handed, north, admin_client):
        page = admin_client.get(change_url(handed)).content.decode()
        assert "Given to another service body, its 3 meetings move with it." in page

        response = admin_client.post(change_url(handed), feed_source_form_data(handed, service_body=north.pk),
                                     follow=True)

        assert "3 meetings moved to North County Office." in message_texts(response)
        assert bodies()["m0"] == "North County Office"
        admin = get_user_model().objects.get(username="admin")
        assert Meeting.objects.get(source_key="m0").history.order_by("-history_id").first().history_user == admin

    def test_a_curator_moves_a_feed_within_their_bodies(self, handed, directory, aa_client):
        response = aa_client.post(change_url(handed), feed_source_form_data(
            handed, service_body=directory.aa_district.pk), follow=True)
        assert "2 meetings moved to South County District." in message_texts(response)
        assert bodies()["m1"] == "South County District"

    def test_it_refuses_a_body_of_another_fellowship_than_the_meetings_on_the_form(self, handed, directory,
                                                                                     admin_client):
        response = admin_client.post(change_url(handed), feed_source_form_data(
            handed, fellowship=Fellowship.objects.get(slug="na").pk, service_body=directory.na_area.pk))
        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"__all__": [
            "Its meetings cannot go with it: OC NA Area keeps Narcotics Anonymous meetings, not Alcoholics "
            "Anonymous."]}
        assert FeedSource.objects.get(pk=handed.pk).fellowship.slug == "aa"
        assert bodies()["m0"] == "OC Central Office"

    def test_it_refuses_while_the_feed_is_being_imported(self, handed, north, admin_client):
        holder = source_claim_take(source_id=handed.pk)
        response = admin_client.post(change_url(handed), feed_source_form_data(handed, service_body=north.pk))
        source_claim_release(source_id=handed.pk, holder=holder)
        assert response.status_code == 200
        assert response.context["adminform"].form.errors == {"__all__": [
            "An import of this feed is running: give it to another service body once the import has finished."]}
        assert bodies()["m0"] == "OC Central Office"

    def test_in_spanish(self, handed, north, directory, admin_client):
        spanish = {"HTTP_ACCEPT_LANGUAGE": "es"}
        page = admin_client.get(change_url(handed), **spanish).content.decode()
        assert "Si la da a otra entidad de servicio, sus 3 reuniones pasan con ella." in page
        response = admin_client.post(change_url(handed), feed_source_form_data(
            handed, fellowship=Fellowship.objects.get(slug="na").pk, service_body=directory.na_area.pk), **spanish)
        assert response.context["adminform"].form.errors == {"__all__": [
            "Sus reuniones no pueden pasar con ella: OC NA Area lleva reuniones de Narcotics Anonymous, no de "
            "Alcoholics Anonymous."]}
        holder = source_claim_take(source_id=handed.pk)
        response = admin_client.post(change_url(handed), feed_source_form_data(handed, service_body=north.pk),
                                     **spanish)
        source_claim_release(source_id=handed.pk, holder=holder)
        assert response.context["adminform"].form.errors == {"__all__": [
            "Se está importando esta fuente: désela a otra entidad de servicio cuando termine la importación."]}
        response = admin_client.post(change_url(handed), feed_source_form_data(handed, service_body=north.pk),
                                     follow=True, **spanish)
        assert "3 reuniones pasaron a North County Office." in message_texts(response)
