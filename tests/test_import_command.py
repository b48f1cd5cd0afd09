import json

import pytest
from django.core.management import CommandError, call_command

from meetings.models import FeedSource, Meeting
from tests.factories import feed_record, make_source


def test_command_imports_a_file_and_prints_counts(vocabularies, tmp_path, capsys):
    make_source("oc")
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([feed_record(1), feed_record(2, time="junk")]))
    call_command("import_feed", str(path), "--fellowship", "aa", "--service-body", "oc-office")
    out = capsys.readouterr().out
    assert "created 1, updated 0, unchanged 0, removed 0, rejected 1" in out
    assert "rejected m2 [time]: time 'junk' is not a time" in out
    source = FeedSource.objects.get(url=str(path.resolve()))
    call_command("import_feed", source.slug)
    assert "unchanged 1" in capsys.readouterr().out
    assert Meeting.objects.count() == 1


def test_command_prints_unknown_types_per_record_on_every_run(vocabularies, tmp_path, capsys):
    """A code in 5 records meeting on two days each is 5 records, on the
    first run and on a re-import that changes nothing."""
    make_source("oc")
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([feed_record(n, day=[1, 2], types=["O", "ZZZ"]) for n in range(5)]))
    call_command("import_feed", str(path), "--fellowship", "aa", "--service-body", "oc-office")
    assert "unknown types (records using each): ZZZ (5)" in capsys.readouterr().out
    call_command("import_feed", str(path))
    out = capsys.readouterr().out
    assert "unchanged 10" in out and "unknown types (records using each): ZZZ (5)" in out


def test_command_exits_non_zero_when_held(vocabularies, tmp_path):
    source = make_source("oc", url=str(tmp_path / "feed.json"))
    (tmp_path / "feed.json").write_text("<html>oops</html>")
    with pytest.raises(CommandError, match="held"):
        call_command("import_feed", str(source.pk))


def test_command_needs_fellowship_for_a_new_file(vocabularies, tmp_path):
    path = tmp_path / "feed.csv"
    path.write_text("Name,Day,Time\nA,Monday,19:00\n")
    with pytest.raises(CommandError, match="--fellowship"):
        call_command("import_feed", str(path))


def test_a_new_file_of_another_fellowship_than_its_service_body_is_refused(vocabularies, tmp_path):
    """--fellowship na with an AA body: its meetings could never be saved by
    the body's curator, so no source is made and nothing is imported."""
    make_source("oc")  # oc-office keeps AA meetings
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([feed_record(1)]))
    with pytest.raises(CommandError, match="oc office keeps Alcoholics Anonymous meetings, not Narcotics Anonymous"):
        call_command("import_feed", str(path), "--fellowship", "na", "--service-body", "oc-office")
    assert not FeedSource.objects.filter(url=str(path.resolve())).exists() and not Meeting.objects.exists()


def test_the_command_lists_meetings_that_kept_a_curators_values(vocabularies, tmp_path, capsys, admin_client):
    """A curator's name and time kept over the feed's new ones were only
    counted as "updated 1": the command lists each such meeting."""
    from meetings.models import ImportRun
    from tests.factories import change_url, meeting_form_data

    make_source("oc")
    path = tmp_path / "feed.json"
    path.write_text(json.dumps([feed_record(n) for n in range(5)]))
    call_command("import_feed", str(path), "--fellowship", "aa", "--service-body", "oc-office")
    meeting = Meeting.objects.get(source_key="m1")
    admin_client.post(change_url(meeting), meeting_form_data(meeting, name="Curated name", time="20:00"))
    meeting.refresh_from_db()
    assert meeting.locked_fields == ["name", "time"]
    capsys.readouterr()
    path.write_text(json.dumps([feed_record(n, **({"name": "Feed rename", "time": "18:00"} if n == 1 else {}))
                                for n in range(5)]))
    call_command("import_feed", str(path))
    out = capsys.readouterr().out
    assert "updated 1, unchanged 4" in out
    assert ("  curated m1: kept the curator's name, time; the feed now says name 'Feed rename'; time 18:00"
            in out.splitlines())
    run = ImportRun.objects.order_by("pk").last()
    assert run.issues.get().record_key == "m1"
    meeting.refresh_from_db()
    assert (meeting.name, meeting.time.strftime("%H:%M")) == ("Curated name", "20:00")
