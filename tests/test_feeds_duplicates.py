"""One meeting listed by two sources is shown once (meetings/feeds/duplicates.py),
and only ever hidden behind a meeting the public sees: a look-alike nobody
sees hides nothing, and a copy comes back when the meeting it was hidden
behind stops being public, whichever write made it stop
(meetings.services.duplicates_show_again). Two listings are one meeting
only when their names say the same words and nothing they state about who
the meeting is for (open or closed, audience, language) differs; a curator
who finds two meetings taken for one says so, and imports abide by it."""

from __future__ import annotations

import pytest

from django.contrib.auth import get_user_model
from django.urls import reverse

from fellowships.models import ServiceBody
from meetings.feeds.importer import import_records
from meetings.models import Meeting
from meetings.directory_version import directory_version
from meetings.services import (NOT_A_COPY_TAKEN_BACK, meetings_not_copies, meetings_not_copies_undo,
                               meetings_set_published)
from tests.factories import LocationFactory, change_url, feed_record, make_meeting, make_source, meeting_form_data, \
    message_texts, run_feed

SEARCH = "/api/v1/meetings/"
CHANGES = "/api/v1/changes/"
MEETINGS = reverse("admin:meetings_meeting_changelist")
SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}
# Where feed_record(1) puts its meeting.
SERENITY = (33.681, -117.82)


def found(client, latitude: float, longitude: float) -> list[str]:
    """The names the public search finds within a kilometre of a point."""
    response = client.get(SEARCH, {"lat": latitude, "lng": longitude, "radius": 1, "units": "km"})
    assert response.status_code == 200, response.content
    return sorted(m["name"] for m in response.json()["results"])


@pytest.fixture
def copy_hidden(vocabularies):
    """"Serenity Group" from the intergroup's feed, shown; "Serenity" from
    the district's feed, the same meeting, hidden behind it."""
    intergroup, district = make_source("oc"), make_source("district")
    run_feed(intergroup, [feed_record(1, name="Serenity Group")])
    run = run_feed(district, [feed_record(1, name="Serenity", slug="d-77")])
    kept, copy = Meeting.objects.get(feed_source=intergroup), Meeting.objects.get(feed_source=district)
    assert run.duplicates == 1 and copy.duplicate_of == kept
    return kept, copy


def assert_shown_again(copy: Meeting, client, *, history_before: int) -> None:
    copy.refresh_from_db()
    assert copy.duplicate_of is None
    assert Meeting.objects.published().filter(pk=copy.pk).exists()
    assert copy.history.count() == history_before + 1
    assert copy.history.latest().duplicate_of_id is None
    assert found(client, *SERENITY) == ["Serenity"]


# Hidden only behind a public meeting ------------------------------------------

def test_a_curators_unpublished_draft_hides_no_import(vocabularies, client):
    draft = make_meeting(name="Serenity Group", day=1, time="19:00", published=False,
                         location=LocationFactory(latitude=SERENITY[0], longitude=SERENITY[1]))
    run = run_feed(make_source("oc"), [feed_record(1, name="Serenity Group")])
    imported = Meeting.objects.exclude(pk=draft.pk).get()
    assert (run.duplicates, imported.duplicate_of) == (0, None)
    assert found(client, *SERENITY) == ["Serenity Group"]


def test_another_bodys_unpublished_listing_hides_no_import(vocabularies, client):
    intergroup, district = make_source("oc"), make_source("district")
    run_feed(intergroup, [feed_record(1, name="Serenity Group")])
    meetings_set_published(meetings=Meeting.objects.filter(feed_source=intergroup), published=False)
    run = run_feed(district, [feed_record(1, name="Serenity", slug="d-77")])
    assert (run.duplicates, Meeting.objects.get(feed_source=district).duplicate_of) == (0, None)
    assert found(client, *SERENITY) == ["Serenity"]


def test_a_copy_is_hidden_behind_a_public_meeting(copy_hidden, client):
    assert found(client, *SERENITY) == ["Serenity Group"]


# The same meeting, or two? -----------------------------------------------------

def imported_twice(first: dict, second: dict, *, fellowship: str = "aa") -> Meeting:
    """The intergroup's record `first`, then the district's `second` at the
    same place, day and time: the district's meeting as stored."""
    intergroup, district = make_source("oc", fellowship=fellowship), make_source("district", fellowship=fellowship)
    run_feed(intergroup, [feed_record(1, **first)])
    run_feed(district, [feed_record(1, slug="d-77", **second)])
    return Meeting.objects.get(feed_source=district)


@pytest.mark.parametrize("first, second", [
    ("Serenity Group", "Serenity"),
    ("The Big Book Study", "Big Book Study Group"),
    ("Serenity Group", "Serentiy Group"),  # a slip of the keyboard
    ("Men's Stag", "Mens Stag"),
    ("Women's Step Study", "Womens Step Studies"),
    ("Grupo Serenidad", "Serenidad"),
    ("Big Book", "Tuesday Night Big Book"),
])
def test_names_saying_the_same_words_are_one_meeting(vocabularies, client, first, second):
    copy = imported_twice({"name": first}, {"name": second})
    assert copy.duplicate_of is not None
    assert found(client, *SERENITY) == [first]


@pytest.mark.parametrize("first, second", [
    ("Men's Step Study", "Women's Step Study"),
    ("Mens Stag", "Womens Stag"),
    ("Sunday Speaker", "Monday Speaker"),
    ("As Bill Sees It", "As Bill Sees It - Spanish"),
    ("Grapevine", "Grapevine en Español"),
    ("Young People", "People"),
    ("Step Study", "Women's Step Study"),
    ("Living Sober", "Living Sober Mujeres"),
])
def test_names_naming_another_meeting_are_two(vocabularies, client, first, second):
    """A men's and a women's meeting, or an English and a Spanish one, in
    two rooms of one church at one hour: hiding either would take a real
    meeting out of the directory."""
    copy = imported_twice({"name": first}, {"name": second})
    assert copy.duplicate_of is None
    assert found(client, *SERENITY) == sorted([first, second])


@pytest.mark.parametrize("fellowship, first, second", [
    ("aa", ["O", "D"], ["C", "D"]),  # open and closed
    ("aa", ["M"], ["W"]),
    ("aa", ["W"], ["W", "Y"]),  # a women's meeting and a young women's
    ("aa", ["LGBTQ"], ["POC"]),
    ("aa", ["S"], ["EN"]),
    ("aa", ["EN"], ["EN", "S"]),  # English, and bilingual
    ("al-anon", ["Y"], ["AC"]),  # Alateen, and adult children of alcoholics
    ("al-anon", ["O"], ["C"]),
], ids=["open-closed", "men-women", "women-young-women", "lgbtq-poc", "spanish-english", "english-bilingual",
        "alateen-adult-children", "al-anon-open-closed"])
def test_listings_saying_different_things_about_who_may_come_are_two(vocabularies, client, fellowship, first,
                                                                      second):
    copy = imported_twice({"name": "Serenity Group", "types": first}, {"name": "Serenity Group", "types": second},
                          fellowship=fellowship)
    assert copy.duplicate_of is None
    assert found(client, *SERENITY) == ["Serenity Group", "Serenity Group"]


@pytest.mark.parametrize("fellowship, first, second", [
    ("aa", ["O", "D", "W"], ["D", "W"]),  # open said by one source only
    ("aa", ["D", "W"], ["D"]),  # the audience said by one source only
    ("aa", ["D"], ["D", "EN"]),  # English said by one, the body's language of the other
    ("aa", ["M", "ST", "X"], ["M", "B"]),  # formats and features may differ
    ("al-anon", ["Y", "D"], ["D"]),
], ids=["open-unsaid", "audience-unsaid", "english-by-default", "formats-differ", "alateen-unsaid"])
def test_what_one_source_leaves_out_does_not_make_two_meetings(vocabularies, client, fellowship, first, second):
    copy = imported_twice({"name": "Serenity Group", "types": first}, {"name": "Serenity Group", "types": second},
                          fellowship=fellowship)
    assert copy.duplicate_of is not None
    assert found(client, *SERENITY) == ["Serenity Group"]


def test_a_body_whose_meetings_are_held_in_spanish_lists_another_meeting(vocabularies, client):
    """Neither record names a language: each is in its body's, as the
    directory tells the public (`language_text`)."""
    intergroup, district = make_source("oc"), make_source("district")
    ServiceBody.objects.filter(pk=district.service_body_id).update(default_language="es")
    run_feed(intergroup, [feed_record(1, name="Grapevine", types=["D"])])
    run_feed(district, [feed_record(1, name="Grapevine", types=["D"], slug="d-77")])
    copy = Meeting.objects.get(feed_source=district)
    assert (copy.language_text, copy.duplicate_of) == (" es ", None)
    assert found(client, *SERENITY) == ["Grapevine", "Grapevine"]


# A copy is shown again when the meeting it was hidden behind stops being public

def test_unpublishing_the_kept_meeting_with_the_admin_action_shows_its_copy(copy_hidden, admin_client, client,
                                                                             admin_user):
    kept, copy = copy_hidden
    history_before = copy.history.count()
    assert found(client, *SERENITY) == ["Serenity Group"]
    response = admin_client.post("/admin/meetings/meeting/",
                                 {"action": "unpublish", "_selected_action": [kept.pk]}, follow=True)
    assert response.status_code == 200
    assert_shown_again(copy, client, history_before=history_before)
    assert copy.history.latest().history_user == admin_user


def test_unpublishing_the_kept_meeting_in_its_change_form_shows_its_copy(copy_hidden, admin_client, client,
                                                                          admin_user):
    kept, copy = copy_hidden
    history_before = copy.history.count()
    assert found(client, *SERENITY) == ["Serenity Group"]
    data = meeting_form_data(kept)
    del data["published"]
    response = admin_client.post(change_url(kept), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert_shown_again(copy, client, history_before=history_before)
    assert copy.history.latest().history_user == admin_user


def test_an_import_that_unpublishes_the_kept_meeting_shows_its_copy(vocabularies, client):
    bmlt_formats = [{"id": "2", "key_string": "O", "world_id": "OPEN"}]
    record = {"id_bigint": "10", "meeting_name": "Just for Today", "weekday_tinyint": "2", "start_time": "19:00:00",
              "time_zone": "America/New_York", "location_street": "1 Main St", "location_municipality": "Auburn",
              "location_province": "NY", "latitude": "42.93", "longitude": "-76.56", "format_shared_id_list": "2"}
    area, region = make_source("area", fellowship="na", format="bmlt"), make_source("region", fellowship="na",
                                                                                    format="bmlt")
    import_records(records=[record], source=area, format="bmlt", bmlt_formats=bmlt_formats)
    import_records(records=[{**record, "id_bigint": "77"}], source=region, format="bmlt", bmlt_formats=bmlt_formats)
    kept, copy = Meeting.objects.get(feed_source=area), Meeting.objects.get(feed_source=region)
    assert copy.duplicate_of == kept
    history_before = copy.history.count()
    assert [m.pk for m in Meeting.objects.published()] == [kept.pk]
    assert found(client, 42.93, -76.56) == ["Just for Today"]

    run = import_records(records=[{**record, "published": "0"}], source=area, format="bmlt",
                         bmlt_formats=bmlt_formats, allow_shrink=True)
    assert (run.status, run.updated) == ("succeeded", 1)
    copy.refresh_from_db()
    assert copy.duplicate_of is None
    assert [m.pk for m in Meeting.objects.published()] == [copy.pk]
    assert copy.history.count() == history_before + 1
    assert copy.history.latest().import_run_id == run.pk
    assert found(client, 42.93, -76.56) == ["Just for Today"]
    assert client.get(f"/api/v1/meetings/{copy.slug}/").status_code == 200


def test_the_kept_meeting_marked_a_copy_itself_shows_its_own_copy(copy_hidden, client):
    """The intergroup renames its meeting to match a third source's, there
    first: it is hidden behind that one, and the district's copy it hid comes back."""
    kept, copy = copy_hidden
    make_meeting(name="Sunrise", day=1, time="19:00",
                 location=LocationFactory(latitude=SERENITY[0], longitude=SERENITY[1]))
    assert found(client, *SERENITY) == ["Serenity Group", "Sunrise"]
    history_before = copy.history.count()
    run_feed(kept.feed_source, [feed_record(1, name="Sunrise Group")])
    kept.refresh_from_db()
    assert kept.duplicate_of is not None
    copy.refresh_from_db()
    assert copy.duplicate_of is None and copy.history.count() == history_before + 1
    assert found(client, *SERENITY) == ["Serenity", "Sunrise"]


def test_the_kept_meeting_leaving_its_feed_shows_its_copy(copy_hidden, client):
    kept, copy = copy_hidden
    history_before = copy.history.count()
    assert found(client, *SERENITY) == ["Serenity Group"]
    run_feed(kept.feed_source, [feed_record(2, latitude=34.5)], allow_shrink=True)
    assert_shown_again(copy, client, history_before=history_before)


def public_changes_of(client, meeting: Meeting) -> list[str]:
    """What the public changes feed (/api/v1/changes/) tells mirrors of `meeting`."""
    response = client.get(CHANGES, {"limit": 500})
    assert response.status_code == 200, response.content
    return [c["action"] for c in response.json()["results"] if c["kind"] == "meeting" and c["object_id"] == meeting.pk]


@pytest.mark.parametrize("delete", ["delete page", "bulk action"])
def test_deleting_the_kept_meeting_in_the_admin_shows_its_copy(copy_hidden, admin_client, client, admin_user, delete):
    """Deleting would only set the copy's `duplicate_of` to null, unrecorded:
    mirrors reading the changes feed would never learn it is public again."""
    kept, copy = copy_hidden
    history_before = copy.history.count()
    assert found(client, *SERENITY) == ["Serenity Group"]
    assert public_changes_of(client, copy) == []
    if delete == "delete page":
        response = admin_client.post(reverse("admin:meetings_meeting_delete", args=[kept.pk]), {"post": "yes"})
    else:
        response = admin_client.post(MEETINGS, {"action": "delete_selected", "_selected_action": [kept.pk],
                                                "post": "yes"})
    assert response.status_code == 302
    assert not Meeting.objects.filter(pk=kept.pk).exists()
    assert_shown_again(copy, client, history_before=history_before)
    assert copy.history.latest().history_user == admin_user
    assert public_changes_of(client, copy) == ["created"]
    assert public_changes_of(client, kept) == ["created", "deleted"]


def test_a_copy_deleted_with_its_kept_meeting_is_not_shown_on_its_way_out(copy_hidden, admin_client, client):
    kept, copy = copy_hidden
    history_before = copy.history.count()
    response = admin_client.post(MEETINGS, {"action": "delete_selected", "_selected_action": [kept.pk, copy.pk],
                                            "post": "yes"})
    assert response.status_code == 302
    assert not Meeting.objects.filter(pk__in=[kept.pk, copy.pk]).exists()
    # Its deletion is its one new row: it was never shown between.
    assert Meeting.history.filter(id=copy.pk).count() == history_before + 1
    assert Meeting.history.filter(id=copy.pk).latest().history_type == "-"
    assert public_changes_of(client, copy) == []
    assert found(client, *SERENITY) == []


def test_a_copy_stays_hidden_while_the_kept_meeting_stays_public(copy_hidden, admin_client, client):
    kept, copy = copy_hidden
    response = admin_client.post(change_url(kept), meeting_form_data(kept, notes="Ring the bell."))
    assert response.status_code == 302, response.context["adminform"].form.errors
    run_feed(kept.feed_source, [feed_record(1, name="Serenity Group", notes="Use the side door.")])
    copy.refresh_from_db()
    assert copy.duplicate_of == kept
    assert found(client, *SERENITY) == ["Serenity Group"]


# A curator's word: two meetings, not one ------------------------------------------

@pytest.fixture
def copy_in_curators_body(directory):
    """The district's "Serenity", kept by the AA office's curator, hidden
    behind the intergroup's "Serenity Group" (another body's)."""
    intergroup, district = make_source("oc"), make_source("district", service_body=directory.aa_office)
    run_feed(intergroup, [feed_record(1, name="Serenity Group")])
    run_feed(district, [feed_record(1, name="Serenity", slug="d-77")])
    kept, copy = Meeting.objects.get(feed_source=intergroup), Meeting.objects.get(feed_source=district)
    assert copy.duplicate_of == kept and copy.service_body == directory.aa_office
    return kept, copy


def test_not_a_copy_shows_the_meeting_and_no_import_hides_either_behind_the_other(copy_in_curators_body, aa_client,
                                                                                  client, directory):
    kept, copy = copy_in_curators_body
    history_before = copy.history.count()
    assert found(client, *SERENITY) == ["Serenity Group"]
    response = aa_client.post(MEETINGS, {"action": "not_a_copy", "_selected_action": [copy.pk]}, follow=True)
    assert message_texts(response) == ["1 meeting shown: not a copy."]
    copy.refresh_from_db()
    assert copy.duplicate_of is None
    latest = copy.history.latest()
    assert (copy.history.count(), latest.duplicate_of_id, latest.history_user) == (
        history_before + 1, None, directory.aa_curator)
    assert found(client, *SERENITY) == ["Serenity", "Serenity Group"]
    # Each source's next change to its record: neither hides behind the other.
    run_feed(copy.feed_source, [feed_record(1, name="Serenity", slug="d-77", notes="Side door.")])
    run_feed(kept.feed_source, [feed_record(1, name="Serenity Group", notes="Back door.")])
    copy.refresh_from_db()
    kept.refresh_from_db()
    assert (copy.notes, copy.duplicate_of, kept.notes, kept.duplicate_of) == ("Side door.", None, "Back door.", None)
    assert found(client, *SERENITY) == ["Serenity", "Serenity Group"]
    # The word was about that pair: a third source's copy is still hidden.
    third = make_source("region")
    run = run_feed(third, [feed_record(1, name="Serenity Group", slug="r-5")])
    assert run.duplicates == 1
    assert found(client, *SERENITY) == ["Serenity", "Serenity Group"]


def test_not_a_copy_from_the_meetings_change_form(copy_in_curators_body, aa_client, client):
    kept, copy = copy_in_curators_body
    page = aa_client.get(change_url(copy)).content.decode()
    url = reverse("admin:meetings_meeting_not_a_copy", args=[copy.pk])
    # A link to a page that asks first: a button submitting the change form
    # there would throw away whatever the curator had typed and not saved.
    assert f'formaction="{url}"' not in page and 'name="_not_a_copy"' not in page
    assert f'<a class="button" href="{url}">Not a copy: show it</a>' in page
    assert f'href="/meetings/{kept.slug}/"' in page  # the meeting shown instead, as the public sees it
    response = aa_client.post(url, follow=True)
    assert response.redirect_chain == [(change_url(copy), 302)]
    assert message_texts(response) == ["1 meeting shown: not a copy."]
    copy.refresh_from_db()
    assert copy.duplicate_of is None
    page = aa_client.get(change_url(copy)).content.decode()
    assert "Not a copy: show it" not in page and "Serenity Group" in page  # named among those it is not a copy of
    assert found(client, *SERENITY) == ["Serenity", "Serenity Group"]


def admin_page(client, url: str) -> str:
    """A confirmation page of the admin's own (a 200 with its site name), as text."""
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="site-name"' in page
    return page


def test_the_not_a_copy_page_names_both_meetings_and_changes_nothing(copy_in_curators_body, aa_client, client):
    kept, copy = copy_in_curators_body
    history_before = copy.history.count()
    page = admin_page(aa_client, reverse("admin:meetings_meeting_not_a_copy", args=[copy.pk]))
    assert (f"Serenity from {copy.service_body.name} is hidden as a copy of "
            f'<a href="/meetings/{kept.slug}/">Serenity Group</a> from {kept.service_body.name}, '
            "which is shown instead.") in page
    assert '<form method="post">' in page and 'name="csrfmiddlewaretoken"' in page
    assert f'href="{change_url(copy)}"' in page  # cancel: back to the change form
    copy.refresh_from_db()
    assert (copy.duplicate_of, copy.history.count(), list(copy.not_copy_of.all())) == (kept, history_before, [])
    assert found(client, *SERENITY) == ["Serenity Group"]


def test_the_not_a_copy_page_of_a_meeting_not_hidden(copy_in_curators_body, aa_client):
    kept, copy = copy_in_curators_body
    url = reverse("admin:meetings_meeting_not_a_copy", args=[copy.pk])
    aa_client.post(url)
    page = aa_client.get(url).content.decode()
    assert "Not hidden as a copy." in page and "<form" not in page.split('id="content"')[1]
    response = aa_client.post(url, follow=True)
    assert message_texts(response) == ["0 meetings shown: not copies. 1 left as it was (not hidden as a copy)."]


def test_only_the_copys_curators_say_it_is_not_a_copy(copy_in_curators_body, client, directory):
    kept, copy = copy_in_curators_body
    client.force_login(directory.na_curator)
    client.post(MEETINGS, {"action": "not_a_copy", "_selected_action": [copy.pk]})
    url = reverse("admin:meetings_meeting_not_a_copy", args=[copy.pk])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    copy.refresh_from_db()
    assert copy.duplicate_of == kept


def test_not_a_copy_in_spanish(copy_in_curators_body, aa_client):
    _, copy = copy_in_curators_body
    changelist = aa_client.get(MEETINGS, **SPANISH).content.decode()
    assert ">No es una copia: mostrar las reuniones seleccionadas</option>" in changelist
    assert "No es una copia: mostrarla" in aa_client.get(change_url(copy), **SPANISH).content.decode()
    page = aa_client.get(reverse("admin:meetings_meeting_not_a_copy", args=[copy.pk]), **SPANISH).content.decode()
    assert "<title>No es una copia: mostrar Serenity" in page
    assert f"Serenity de {copy.service_body.name} está oculta como copia de " in page
    assert ("Si son dos reuniones, muéstrela: ninguna importación volverá a ocultar una detrás de la otra."
            in page)
    response = aa_client.post(MEETINGS, {"action": "not_a_copy", "_selected_action": [copy.pk]}, follow=True,
                              **SPANISH)
    assert message_texts(response) == ["1 reunión mostrada: no es una copia."]
    response = aa_client.post(MEETINGS, {"action": "not_a_copy", "_selected_action": [copy.pk]}, follow=True,
                              **SPANISH)
    assert message_texts(response) == ["0 reuniones mostradas: no son copias. 1 quedó como estaba (no estaba "
                                       "oculta como copia)."]


# Taking "not a copy" back ------------------------------------------------------


@pytest.fixture
def told_apart(copy_in_curators_body, directory):
    """The AA office's curator said the district's "Serenity" is not a copy
    of the intergroup's "Serenity Group" (another body's, public)."""
    kept, copy = copy_in_curators_body
    assert meetings_not_copies(meetings=Meeting.objects.filter(pk=copy.pk), user=directory.aa_curator) == 1
    return kept, copy


def undo_url(meeting: Meeting, other: Meeting) -> str:
    return reverse("admin:meetings_meeting_not_a_copy_undo", args=[meeting.pk, other.pk])


def test_taking_not_a_copy_back_removes_the_pair_and_records_both(told_apart, client, directory):
    kept, copy = told_apart
    version, history = directory_version(), {m.pk: m.history.count() for m in (kept, copy)}
    assert meetings_not_copies_undo(meeting=copy, other=kept, user=directory.aa_curator) is True
    assert not Meeting.not_copy_of.through.objects.filter(from_meeting__in=[kept, copy]).exists()  # both ways
    for meeting, other in ((copy, kept), (kept, copy)):
        latest = meeting.history.latest()
        assert meeting.history.count() == history[meeting.pk] + 1
        assert (latest.history_user, latest.history_change_reason) == (
            directory.aa_curator, NOT_A_COPY_TAKEN_BACK.format(other=other.pk))
    assert directory_version().number > version.number  # cached answers (the changes feed) are read anew
    # It hides nothing itself: the next import decides.
    copy.refresh_from_db()
    assert copy.duplicate_of is None and found(client, *SERENITY) == ["Serenity", "Serenity Group"]
    # Taken back already: nothing to do, nothing recorded.
    version = directory_version()
    assert meetings_not_copies_undo(meeting=kept, other=copy, user=directory.aa_curator) is False
    assert (directory_version(), copy.history.count()) == (version, history[copy.pk] + 1)


def test_taken_back_by_another_curator_meanwhile_changes_nothing(told_apart, directory, monkeypatch):
    """Two curators take the same pair back at once: the second finds the
    pair gone once its writes are under way, and undoes them."""
    from meetings.querysets import MeetingQuerySet

    kept, copy = told_apart

    def state() -> dict:
        return {m.pk: (m.updated, m.content_hash, m.history.count())
                for m in Meeting.objects.filter(pk__in=[kept.pk, copy.pk])}

    before = state()
    update = MeetingQuerySet.update

    def the_other_curator_first(queryset, **values):
        Meeting.not_copy_of.through.objects.filter(from_meeting__in=[kept, copy]).delete()
        return update(queryset, **values)

    monkeypatch.setattr(MeetingQuerySet, "update", the_other_curator_first)
    assert meetings_not_copies_undo(meeting=copy, other=kept, user=directory.aa_curator) is False
    assert state() == before


@pytest.mark.parametrize("next_feed", ["district", "intergroup"])
def test_after_not_a_copy_is_taken_back_the_next_import_hides_one_behind_the_other(told_apart, client, directory,
                                                                                    next_feed):
    """Either feed's next import decides again by the usual rule (the meeting
    it imports is hidden behind the other source's public one), even when its
    record has not changed since the import that last applied it."""
    kept, copy = told_apart
    meetings_not_copies_undo(meeting=copy, other=kept, user=directory.aa_curator)
    if next_feed == "district":
        run = run_feed(copy.feed_source, [feed_record(1, name="Serenity", slug="d-77")])
        hidden, shown = copy, kept
    else:
        run = run_feed(kept.feed_source, [feed_record(1, name="Serenity Group")])
        hidden, shown = kept, copy
    hidden.refresh_from_db()
    assert (run.duplicates, hidden.duplicate_of) == (1, shown)
    assert found(client, *SERENITY) == [shown.name]
    # The other feed's next import hides nothing more (a copy hides nothing).
    run_feed(shown.feed_source, [feed_record(1, name=shown.name, **({"slug": "d-77"} if shown == copy else {}))])
    shown.refresh_from_db()
    assert shown.duplicate_of is None and found(client, *SERENITY) == [shown.name]


def test_the_change_form_lists_the_meetings_told_apart_with_a_link_to_take_it_back(told_apart, aa_client, directory):
    kept, copy = told_apart
    # One the viewer may not see: another body's listing, kept unpublished.
    unseen = make_meeting(name="Serenity Secret", service_body=directory.na_area, fellowship="na", published=False)
    copy.not_copy_of.add(unseen)
    page = aa_client.get(change_url(copy)).content.decode()
    assert f'<a class="button" href="{undo_url(copy, kept)}">May be copies again</a>' in page
    assert f'<a href="/meetings/{kept.slug}/">Serenity Group</a> ({kept.service_body.name})' in page
    assert "Serenity Secret" not in page and undo_url(copy, unseen) not in page
    assert "1 other meeting that the public does not see, outside your service bodies." in page
    # A superuser sees every one.
    aa_client.force_login(get_user_model().objects.create_superuser("root", "root@example.org", "x"))
    page = aa_client.get(change_url(copy)).content.decode()
    assert "Serenity Secret" in page and undo_url(copy, unseen) in page and "does not see" not in page


def test_the_may_be_copies_again_page_names_both_and_changes_nothing(told_apart, aa_client, client):
    kept, copy = told_apart
    history_before = copy.history.count()
    page = admin_page(aa_client, undo_url(copy, kept))
    assert (f"A curator said Serenity from {copy.service_body.name} and "
            f'<a href="/meetings/{kept.slug}/">Serenity Group</a> from {kept.service_body.name} are two meetings, '
            "not one listed twice: imports hide neither behind the other.") in page
    assert ("Taking it back hides nothing now: the next import of either feed decides again, by its usual rules, "
            "whether one is a copy of the other, and hides it if so.") in page
    assert '<form method="post">' in page and 'name="csrfmiddlewaretoken"' in page
    assert f'href="{change_url(copy)}"' in page  # cancel: back to the change form
    assert (copy.history.count(), list(copy.not_copy_of.all())) == (history_before, [kept])
    assert found(client, *SERENITY) == ["Serenity", "Serenity Group"]


def test_may_be_copies_again_from_the_change_form(told_apart, aa_client, directory):
    kept, copy = told_apart
    response = aa_client.post(undo_url(copy, kept), follow=True)
    assert response.redirect_chain == [(change_url(copy), 302)]
    assert message_texts(response) == [
        "Serenity and Serenity Group may be copies again: the next import of their feeds decides."]
    assert list(copy.not_copy_of.all()) == [] and copy.history.latest().history_user == directory.aa_curator
    assert "May be copies again" not in response.content.decode()
    # Taken back already (another tab, another curator): said so, nothing done.
    history_before = copy.history.count()
    response = aa_client.post(undo_url(copy, kept), follow=True)
    assert response.redirect_chain == [(change_url(copy), 302)]
    assert message_texts(response) == ["Serenity and Serenity Group are not told apart: there is nothing to take back."]
    assert copy.history.count() == history_before
    page = aa_client.get(undo_url(copy, kept)).content.decode()
    assert "are not told apart: there is nothing to take back." in page
    assert "<form" not in page.split('id="content"')[1]


def test_only_the_curators_who_could_say_not_a_copy_take_it_back(told_apart, client, directory):
    """As for "not a copy" (said on the copy, which the curator keeps, of a
    meeting anyone may see): the meeting acted on is one the curator keeps,
    the other one they may see."""
    kept, copy = told_apart
    client.force_login(directory.na_curator)  # another body's curator
    for method in (client.get, client.post):
        assert method(undo_url(copy, kept)).status_code == 404
        assert method(undo_url(kept, copy)).status_code == 404
    client.force_login(directory.aa_curator)
    # Through the intergroup's meeting, which is not theirs: not found, as its change form.
    assert client.post(undo_url(kept, copy)).status_code == 404
    # Paired with a listing of another body that the public does not see: not found either.
    unseen = make_meeting(name="Serenity Secret", service_body=directory.na_area, fellowship="na", published=False)
    copy.not_copy_of.add(unseen)
    assert client.post(undo_url(copy, unseen)).status_code == 404
    assert sorted(copy.not_copy_of.values_list("name", flat=True)) == ["Serenity Group", "Serenity Secret"]


def test_may_be_copies_again_in_spanish(told_apart, aa_client):
    kept, copy = told_apart
    assert "Pueden volver a ser copias" in aa_client.get(change_url(copy), **SPANISH).content.decode()
    page = aa_client.get(undo_url(copy, kept), **SPANISH).content.decode()
    assert "<title>Pueden volver a ser copias: Serenity y Serenity Group" in page
    assert f"Un curador dijo que Serenity de {copy.service_body.name} y " in page
    assert ("Si lo retira, ahora no se oculta nada: la próxima importación de la fuente de cualquiera de las dos "
            "vuelve a decidir, con sus reglas habituales, si una es copia de la otra, y en ese caso la oculta."
            in page)
    assert 'value="Pueden volver a ser copias"' in page
    response = aa_client.post(undo_url(copy, kept), follow=True, **SPANISH)
    assert message_texts(response) == [
        "Serenity y Serenity Group pueden volver a ser copias: lo decide la próxima importación de sus fuentes."]
    response = aa_client.post(undo_url(copy, kept), follow=True, **SPANISH)
    assert message_texts(response) == [
        "Serenity y Serenity Group no constan como reuniones distintas: no hay nada que retirar."]


# What the rule found already wrong ---------------------------------------------

def test_migration_0029_shows_the_copies_already_hidden_behind_a_meeting_nobody_sees(copy_hidden, client):
    """Before the rule, a copy could be hidden behind a meeting that was then
    unpublished (or was never public): migration 0029 shows every such copy
    again, and leaves alone a copy hidden behind a meeting still shown."""
    from importlib import import_module

    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    migration = "0029_copies_behind_hidden_meetings_shown"
    # The models as they stood at that migration, as `migrate` gives them to it.
    apps = MigrationLoader(connection).project_state(("meetings", migration)).apps
    kept, copy = copy_hidden
    elsewhere = LocationFactory(latitude=34.05, longitude=-118.25)
    other_kept = make_meeting(name="Hope", day=3, time="07:00", location=elsewhere)
    other_copy = make_meeting(name="Hope Group", day=3, time="07:00", location=elsewhere)
    Meeting.objects.filter(pk=other_copy.pk).update(duplicate_of=other_kept)
    # Unpublished by a write that knew nothing of the rule (as every one did before it).
    Meeting.objects.filter(pk=kept.pk).update(published=False)
    assert found(client, *SERENITY) == []

    history_before = copy.history.count()
    module = import_module(f"meetings.migrations.{migration}")
    module.copies_shown_again(apps, None)

    assert found(client, *SERENITY) == ["Serenity"]  # the cached answer of a moment ago is not served
    assert Meeting.objects.get(pk=copy.pk).duplicate_of_id is None
    assert Meeting.objects.get(pk=other_copy.pk).duplicate_of_id == other_kept.pk
    # Recorded, so a mirror reading the changes feed learns the copy is public again.
    assert copy.history.count() == history_before + 1
    row = copy.history.latest()
    assert (row.duplicate_of_id, row.history_change_reason, row.name) == (None, module.REASON, "Serenity")
    assert row.type_codes == sorted(copy.types.values_list("code", flat=True))
    changes = client.get("/api/v1/changes/", {"limit": 500}).json()["results"]
    assert [c["action"] for c in changes if c["kind"] == "meeting" and c["object_id"] == copy.pk][-1] == "created"
    assert other_copy.history.count() == 1
