"""A freshly migrated directory knows AA, NA and Al-Anon and their
vocabularies (fellowships/migrations/0003), with no sample data and no
`vocabularies` fixture: the test database is built by `migrate` alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command

from fellowships.models import Fellowship, MeetingType, ServiceBody
from fellowships.services import vocabularies_sync
from fellowships.vocabularies import fellowship_entries
from meetings.models import Meeting

FEED = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "code4recovery-pdf__tests-Fixtures-meetings.json"


@pytest.mark.django_db
def test_migrate_alone_gives_every_fellowship_with_its_vocabulary():
    assert set(Fellowship.objects.values_list("slug", flat=True)) == {"aa", "na", "al-anon"}
    for entry in fellowship_entries():
        codes = set(MeetingType.objects.filter(fellowship__slug=entry.slug).values_list("code", flat=True))
        assert codes == {t.code for t in entry.types}, entry.slug
    assert Fellowship.objects.get(slug="al-anon").default_open_closed == "closed"
    alateen = MeetingType.objects.get(fellowship__slug="al-anon", code="Y")
    assert alateen.name == "Alateen"


@pytest.mark.django_db
def test_a_fresh_directory_imports_its_first_meeting_guide_feed(tmp_path, capsys):
    """Only a service body made by its curator; no sample data."""
    ServiceBody.objects.create(slug="first-office", name="First Office", fellowship=Fellowship.objects.get(slug="aa"),
                               timezone="America/New_York")
    call_command("import_feed", str(FEED), "--fellowship", "aa", "--service-body", "first-office")
    assert "created" in capsys.readouterr().out
    assert Meeting.objects.filter(fellowship__slug="aa").count() > 0


@pytest.mark.django_db
def test_the_sync_after_the_migration_changes_nothing():
    before = list(MeetingType.objects.order_by("pk").values())
    vocabularies_sync()
    assert list(MeetingType.objects.order_by("pk").values()) == before


@pytest.mark.django_db
def test_the_spanish_names_migration_adds_only_what_is_missing():
    """A directory migrated before NA's and Al-Anon's Spanish names gets them;
    a name a curator gave stays."""
    from importlib import import_module

    from django.apps import apps

    fill = import_module("fellowships.migrations.0005_spanish_type_names").translations_fill
    wheelchair = MeetingType.objects.get(fellowship__slug="na", code="WCHR")
    wheelchair.translations = {}
    wheelchair.save()
    beginner = MeetingType.objects.get(fellowship__slug="na", code="BEG")
    beginner.translations = {"es": "Recién llegados", "fr": "Débutants"}
    beginner.save()
    fill(apps, None)
    wheelchair.refresh_from_db()
    beginner.refresh_from_db()
    assert wheelchair.translations == {"es": "Silla de ruedas"}
    assert beginner.translations == {"es": "Recién llegados", "fr": "Débutants"}
    assert MeetingType.objects.get(fellowship__slug="al-anon", code="Y").translations == {"es": "Alateen"}


@pytest.mark.django_db
def test_the_audience_migration_marks_the_types_that_say_who_a_meeting_is_for():
    """A directory migrated before types had the audience meaning gets it,
    and only on the types the vocabulary names."""
    from importlib import import_module

    from django.apps import apps

    mark = import_module("fellowships.migrations.0006_audience_types").audience_mark
    MeetingType.objects.filter(meaning="audience").update(meaning="")
    mark(apps, None)
    assert set(MeetingType.objects.filter(fellowship__slug="na", meaning="audience").values_list(
        "code", flat=True)) == {"GL", "M", "W", "Y"}
    assert MeetingType.objects.get(fellowship__slug="aa", code="X").meaning == ""
    assert MeetingType.objects.get(fellowship__slug="aa", code="C").meaning == "closed"
