"""A meeting's search text (meetings/keywords.py) is derived from its own
text, its venue's and its types' names: every write to any of them shows in
a keyword search at once, whoever makes it (a curator, a feed, a vocabulary;
a place a feed describes anew: tests/test_sample_data.py)."""

from __future__ import annotations

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from fellowships.models import MeetingType
from meetings.keywords import fold
from meetings.models import Meeting
from meetings.services import location_save, meeting_save
from tests.factories import LocationFactory, make_meeting

URL = "/api/v1/meetings/"

pytestmark = pytest.mark.django_db


def found(client, words: str) -> list[str]:
    response = client.get(URL, {"q": words})
    assert response.status_code == 200, response.content
    return sorted(m["name"] for m in response.json()["results"])


def test_a_venue_a_curator_renames_is_found_by_its_new_name_for_every_meeting_there(vocabularies, client):
    hall = LocationFactory(name="Old Mission Hall")
    make_meeting(name="Early Risers", location=hall)
    make_meeting(name="Night Owls", location=hall)
    assert found(client, "mission") == ["Early Risers", "Night Owls"]
    hall.name = "Harbor Chapel"
    location_save(location=hall, address_changed=False, coordinates_changed=False)
    assert found(client, "mission") == []
    assert found(client, "harbor chapel") == ["Early Risers", "Night Owls"]


def test_a_meeting_whose_types_change_is_found_by_their_names(vocabularies, client):
    meeting = make_meeting(name="Tuesday Night", types=("O",))
    assert found(client, "women") == []
    meeting_save(meeting=meeting, types=MeetingType.objects.filter(fellowship__slug="aa", code__in=["O", "W"]))
    assert found(client, "women") == found(client, "mujeres") == ["Tuesday Night"]
    meeting_save(meeting=meeting, types=MeetingType.objects.filter(fellowship__slug="aa", code="O"))
    assert found(client, "women") == []


def test_a_type_the_vocabulary_names_anew_is_found_by_its_new_names(vocabularies, client):
    make_meeting(name="Tuesday Night", types=("W",))
    make_meeting(name="NA Tuesday", fellowship="na", types=("W",), location=LocationFactory())
    assert found(client, "mujeres") == ["NA Tuesday", "Tuesday Night"]
    assert found(client, "solo") == []
    women = MeetingType.objects.get(fellowship__slug="aa", code="W")
    women.translations = {**women.translations, "es": "Sólo mujeres"}
    women.save()
    # NA's W has the same English name: the pages show it with AA's translations.
    assert found(client, "solo") == ["NA Tuesday", "Tuesday Night"]
    # A language of the vocabulary that no page is shown in is not searched.
    women.translations = {**women.translations, "fr": "Femmes"}
    women.save()
    assert found(client, "femmes") == []


def test_keywords_are_folded_as_the_text_is(vocabularies, client):
    make_meeting(name="Ærø Straße Grupo Rendición")
    for words in ("ærø", "ÆRØ", "straße", "rendicion", "RENDICIÓN"):
        assert found(client, words) == ["Ærø Straße Grupo Rendición"], words
    assert fold("RENDICIÓN") in Meeting.objects.get().search_text


def test_each_word_is_kept_once_and_found_as_before(vocabularies, client):
    """A group named as its meeting, a city in the address: the search text
    keeps a word once, and finds what the fields joined would find."""
    hall = LocationFactory(name="Saint Mark Hall", city="Irvine", formatted_address="5 Main St, Irvine, CA 92618, USA")
    meeting = make_meeting(name="Irvine Serenity", group="Irvine Serenity", location=hall, types=("W",))
    words = meeting.search_text.split()
    assert len(words) == len(set(words)) and words[:2] == ["irvine", "serenity"]
    for query in ("irvine", "rvin", "92618", "main st", "mark hall", "women", "mujeres", "irvine serenity"):
        assert found(client, query) == ["Irvine Serenity"], query
    assert found(client, "irvine,") == ["Irvine Serenity"]  # as the address has it
    assert found(client, "serenity irvine women x") == []


def test_the_migration_fills_the_search_text_of_stored_meetings(vocabularies):
    hall = LocationFactory(name="Old Mission Hall")
    meetings = [make_meeting(name="Early Risers", location=hall, types=("W",)),
                make_meeting(name="Online", no_location=True, notes="Bring coffee")]
    Meeting.objects.update(search_text="")
    fill = import_module("meetings.migrations.0012_meeting_search_text").fill
    fill(apps, SimpleNamespace(connection=connection))  # what it reads of its schema editor
    for meeting in meetings:
        meeting.refresh_from_db()
        assert meeting.search_text == meeting_save(meeting=meeting).search_text != ""
    assert "old mission hall" in meetings[0].search_text and "mujeres" in meetings[0].search_text


def test_a_street_sent_in_parts_is_found(vocabularies, client):
    # A feed that sends address, city, state and postal code but no formatted address.
    corner = LocationFactory(name="Esquina", address="2 Calle Ñandú", city="Santa Ana", state="CA",
                             postal_code="92701", formatted_address="")
    make_meeting(name="Corner", location=corner)
    for words in ("calle", "Ñandú", "nandu", "92701", "santa ana"):
        assert found(client, words) == ["Corner"], words


def test_the_migration_adds_the_street_of_stored_meetings_sent_in_parts(vocabularies):
    """Meetings written before the street was read from the address's parts
    get it in their search text at migrate (migration 0023), and only those."""
    corner = LocationFactory(name="Esquina", address="2 Calle Ñandú", city="Santa Ana", state="CA",
                             postal_code="92701", formatted_address="")
    stored = make_meeting(name="Corner", location=corner, types=("W",))
    other = make_meeting(name="Elsewhere", location=LocationFactory(name="Old Mission Hall"))
    Meeting.objects.filter(pk=stored.pk).update(search_text="corner esquina santa ana women mujeres")
    Meeting.objects.filter(pk=other.pk).update(search_text="kept as it was")
    fill = import_module("meetings.migrations.0024_search_text_street_from_parts").fill
    fill(apps, SimpleNamespace(connection=connection))
    stored.refresh_from_db()
    other.refresh_from_db()
    assert "2 calle nandu" in stored.search_text
    assert stored.search_text == meeting_save(meeting=stored).search_text
    assert other.search_text == "kept as it was"


@pytest.mark.postgres
def test_a_keyword_listing_is_planned_for_its_own_words(vocabularies, client):
    """A listing's statement is the same for every word, and psycopg
    prepares it after its fifth run; PostgreSQL then may plan it once for all
    words (a generic plan). Whether the trigram index or the weekday order is
    cheaper depends on the word: planned once, "ab" (no trigram) scanned the
    whole index, 334-381 ms against 2-3 ms planned for it (bench/README.md,
    round 17). Every run is planned with its own words."""
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements and their plans are PostgreSQL's: run with DATABASE_URL=postgres://...")
    for n in range(30):
        make_meeting(name=f"Serenity Group {n}", location=LocationFactory(name=f"Hall {n}"), types=("O",))
    for word in ("serenity", "hall", "grupo", "women", "step", "open", "night", "the", "ab", "zz", "hall", "ab"):
        assert client.get(URL, {"q": word}).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(SUM(generic_plans), 0), COALESCE(SUM(custom_plans), 0) "
                       "FROM pg_prepared_statements WHERE statement LIKE %s", ["%search_text%"])
        generic, custom = cursor.fetchone()
    assert custom > 0 and generic == 0, (generic, custom)


def test_a_type_renamed_in_english_leaves_no_borrowed_names_on_other_vocabularies(vocabularies, client):
    """NA's W shows AA's translations because both are named "Women"; once
    AA's is named otherwise, NA's meetings are found by NA's own names only."""
    women = MeetingType.objects.get(fellowship__slug="aa", code="W")
    women.translations = {**women.translations, "es": "Sólo mujeres"}
    women.save()
    make_meeting(name="Tuesday Night", types=("W",))
    make_meeting(name="NA Tuesday", fellowship="na", types=("W",), location=LocationFactory())
    assert found(client, "solo") == ["NA Tuesday", "Tuesday Night"]
    women.name = "Ladies"
    women.save()
    assert found(client, "solo") == ["Tuesday Night"]
    assert found(client, "ladies") == ["Tuesday Night"]


def test_a_vocabulary_changed_by_a_data_migration_reaches_the_search_text_at_migrate(vocabularies, client):
    """A data migration writes types through historical models, which send
    no signal the meetings app hears (nor does `QuerySet.update`, used here
    in its place): `migrate` brings the search text up to date at its end,
    and names the directory's state anew (cached answers)."""
    from django.core.management import call_command

    from meetings.directory_version import directory_version

    make_meeting(name="Tuesday Night", types=("W",))
    MeetingType.objects.filter(fellowship__slug="aa", code="W").update(translations={"es": "Sólo mujeres"})
    assert found(client, "solo") == []
    before = directory_version()
    call_command("migrate", verbosity=0)
    assert found(client, "solo") == ["Tuesday Night"]
    assert directory_version() != before


def test_a_types_new_meaning_reaches_the_open_closed_and_attendance_of_its_meetings(vocabularies, client):
    """A meeting's open/closed and attendance derive from its types'
    meanings: a meaning the vocabulary changes, by a save or by a data
    migration (`QuerySet.update` in its place, no signal), reaches them at
    once or at the end of `migrate`."""
    from django.core.management import call_command

    def names(query: dict) -> list[str]:
        response = client.get(URL, query)
        assert response.status_code == 200, response.content
        return sorted(m["name"] for m in response.json()["results"])

    make_meeting(name="Beginners", types=("B",))
    make_meeting(name="Open", types=("O",))
    assert names({"open": "closed"}) == []
    beginners = MeetingType.objects.get(fellowship__slug="aa", code="B")
    beginners.meaning = MeetingType.Meaning.CLOSED
    beginners.save()
    assert names({"open": "closed"}) == ["Beginners"]

    MeetingType.objects.filter(fellowship__slug="aa", code="B").update(meaning=MeetingType.Meaning.TEMPORARILY_CLOSED)
    assert names({"attendance": "inactive"}) == []
    call_command("migrate", verbosity=0)
    assert names({"attendance": "inactive"}) == ["Beginners"]
    assert Meeting.objects.get(name="Beginners").open_closed == Meeting.objects.get(name="Beginners").fellowship.default_open_closed
    assert names({"open": "open"}) == ["Open"]


def test_a_search_by_type_follows_every_write_of_a_meetings_types(vocabularies, client):
    """A meeting's codes are derived (`type_code_text`) like its search text:
    a curator's change, a feed's and a feed's change kept out by a curated
    lock all show in a search by type at once."""
    from tests.factories import feed_record, make_source, run_feed

    def by_type(codes: str) -> list[str]:
        response = client.get(URL, {"type": codes})
        assert response.status_code == 200, response.content
        return sorted(m["name"] for m in response.json()["results"])

    source = make_source()
    run_feed(source, [feed_record(1, name="From the feed", types="O,W")])
    meeting = make_meeting(name="By hand", types=("C",))
    assert by_type("O,W") == ["From the feed"] and by_type("C") == ["By hand"]
    run_feed(source, [feed_record(1, name="From the feed", types="C,B")])
    assert by_type("W") == [] and by_type("C,B") == ["From the feed"]
    meeting_save(meeting=meeting, types=MeetingType.objects.filter(fellowship__slug="aa", code__in=["O", "B"]))
    assert by_type("C") == ["From the feed"] and by_type("B") == ["By hand", "From the feed"]
    curated = Meeting.objects.get(name="From the feed")
    meeting_save(meeting=curated, types=MeetingType.objects.filter(fellowship__slug="aa", code="ST"))
    run_feed(source, [feed_record(1, name="From the feed", types="W")])  # its types are curated: kept
    assert by_type("W") == [] and by_type("ST") == ["From the feed"]
    # A code is a whole word: B is not BE, nor O ONL.
    assert Meeting.objects.get(name="By hand").type_code_text == " B O "
    assert by_type("BE") == []


def test_a_search_by_language_follows_the_types_and_the_service_body(vocabularies, client):
    """A meeting is held in the languages its types name or, naming none, in
    its service body's (`language_text`): a curator's types, a feed's, a
    meeting moved to another body and a body's new default all show at once."""
    from tests.factories import ServiceBodyFactory, feed_record, make_source, run_feed

    def by_language(language: str) -> list[str]:
        response = client.get(URL, {"language": language})
        assert response.status_code == 200, response.content
        return sorted(m["name"] for m in response.json()["results"])

    oficina = ServiceBodyFactory(name="Oficina Central", default_language="es")
    unmarked = make_meeting(name="Unmarked", service_body=oficina)
    marked = make_meeting(name="Marked English", service_body=oficina, types=("EN",))
    assert by_language("es") == ["Unmarked"] and by_language("en") == ["Marked English"]
    oficina.default_language = "en"
    oficina.save()
    assert by_language("es") == [] and by_language("en") == ["Marked English", "Unmarked"]
    meeting_save(meeting=marked, types=MeetingType.objects.filter(fellowship__slug="aa", code="S"))
    assert by_language("es") == ["Marked English"]
    unmarked.service_body = ServiceBodyFactory(name="Bureau", default_language="fr")
    meeting_save(meeting=unmarked)
    assert by_language("fr") == ["Unmarked"] and by_language("en") == []
    source = make_source()
    run_feed(source, [feed_record(1, name="From the feed", types="O,S")])
    assert by_language("es") == ["From the feed", "Marked English"]
    run_feed(source, [feed_record(1, name="From the feed", types="O")])  # its body's language again
    assert "From the feed" not in by_language("es")
    assert Meeting.objects.get(name="From the feed").language_text == f" {source.service_body.default_language} "


def test_a_service_body_saved_with_its_language_unchanged_writes_none_of_its_meetings(vocabularies):
    """Following the body's language read all its meetings at every save:
    1.7-1.9 s for a body of 45,000 at 1,000,000, its language unchanged
    (bench/README.md, round 23)."""
    from django.test.utils import CaptureQueriesContext

    from tests.factories import ServiceBodyFactory

    body = ServiceBodyFactory(name="Oficina Central", default_language="es")
    unmarked = make_meeting(name="Unmarked", service_body=body)

    def meeting_statements(save) -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            save()
        return [q["sql"] for q in queries.captured_queries if "meetings_meeting" in q["sql"]]

    body.name, body.phone = "Oficina Central Hispana", "555-0100"
    assert meeting_statements(body.save) == []
    assert meeting_statements(lambda: body.save(update_fields=["name"])) == []
    body.default_language = "en"
    assert meeting_statements(lambda: body.save(update_fields=["name"])) == []  # not saved: nothing to follow
    unmarked.refresh_from_db()
    assert unmarked.language_text == " es "
    assert len(meeting_statements(body.save)) == 1
    unmarked.refresh_from_db()
    assert unmarked.language_text == " en "


def test_a_fellowships_new_default_open_closed_shows_on_its_meetings_whose_types_say_neither(vocabularies, client):
    """A meeting's `open_closed` is what its types say or else its
    fellowship's default (`open_closed_for`): a curator changing the default
    in the admin left every such meeting with the old one."""
    from django.test.utils import CaptureQueriesContext

    from fellowships.models import Fellowship

    def opens(value: str) -> list[str]:
        response = client.get(URL, {"open": value})
        assert response.status_code == 200, response.content
        return sorted(m["name"] for m in response.json()["results"])

    aa = Fellowship.objects.get(slug="aa")
    aa.default_open_closed = ""
    aa.save()
    silent = make_meeting(name="Says nothing", types=("W",))
    make_meeting(name="Says open", types=("O",))
    make_meeting(name="Says closed", types=("C",))
    assert silent.open_closed == "" and opens("closed") == ["Says closed"]
    aa.default_open_closed = "closed"
    aa.save()
    assert opens("closed") == ["Says closed", "Says nothing"] and opens("open") == ["Says open"]
    detail = client.get(f"{URL}{silent.slug}/").json()
    assert detail["open_closed"] == "closed"
    aa.website = "https://www.aa.org/"
    with CaptureQueriesContext(connection) as queries:
        aa.save()  # the default as it was: no meeting read
    assert not [q for q in queries.captured_queries if "meetings_meeting" in q["sql"]]

    # A data migration writes through historical models (no signal; `update` here): followed at migrate's end.
    from django.core.management import call_command

    Fellowship.objects.filter(pk=aa.pk).update(default_open_closed="open")
    assert opens("open") == ["Says open"]
    call_command("migrate", verbosity=0)
    assert opens("open") == ["Says nothing", "Says open"] and opens("closed") == ["Says closed"]


def test_the_migrations_fill_the_type_codes_and_languages_of_stored_meetings(vocabularies):
    from tests.factories import ServiceBodyFactory

    make_meeting(name="Spanish women", types=("O", "W", "S"))
    make_meeting(name="Untyped", types=(), service_body=ServiceBodyFactory(name="Bureau", default_language="fr"))
    Meeting.objects.update(type_code_text="", language_text="")
    for name in ("0015_meeting_type_code_text", "0017_meeting_language_text"):
        fill = import_module(f"meetings.migrations.{name}").fill
        fill(apps, SimpleNamespace(connection=connection))  # what it reads of its schema editor
    assert [(m.type_code_text, m.language_text) for m in Meeting.objects.order_by("pk")] == [
        (" O S W ", " es "), ("", " fr ")]
    for meeting in Meeting.objects.all():
        assert (meeting.type_code_text, meeting.language_text) == (
            (saved := meeting_save(meeting=meeting)).type_code_text, saved.language_text)


def test_a_language_type_given_another_language_moves_its_meetings(vocabularies, client):
    """The language a type names is read into its meetings' `language_text`:
    changed by a vocabulary's save, or by a data migration (followed at the
    end of `migrate`), it moves them at once."""
    from django.core.management import call_command

    def by_language(language: str) -> list[str]:
        return sorted(m["name"] for m in client.get(URL, {"language": language}).json()["results"])

    make_meeting(name="Polish speakers", types=("POL",))
    assert by_language("pl") == ["Polish speakers"]
    polish = MeetingType.objects.get(fellowship__slug="aa", code="POL")
    polish.language = "sk"  # a language another type names: "pl" is now unknown (400)
    polish.save()
    assert by_language("sk") == ["Polish speakers"]
    MeetingType.objects.filter(pk=polish.pk).update(language="pl")  # as a data migration writes it
    call_command("migrate", verbosity=0)
    assert by_language("sk") == [] and by_language("pl") == ["Polish speakers"]
