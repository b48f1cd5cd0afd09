"""Every kind of write a directory gets, each one a change a reader can see:
used in-process by tests/test_caching.py, and as a separate writer process
(`python -m tests.directory_writes` reading commands on stdin) by its
cross-process test.

`prepare(kind)` makes the state before the write and says which URL shows
the write and what text it will show; `write(kind)` makes the write."""

from __future__ import annotations

import json
import sys
from pathlib import Path

KINDS = ("service", "importer", "admin", "change_request", "revert", "bulk_update")
FEED = Path(__file__).resolve().parent.parent / "fixtures" / "feeds" / "code4recovery-pdf__tests-Fixtures-meetings.json"
OFFICE = "writes-office"


def _superuser():
    from django.contrib.auth import get_user_model

    user, _ = get_user_model().objects.get_or_create(
        username="writes-admin", defaults={"is_staff": True, "is_superuser": True, "email": "w@example.org"})
    return user


def setup_directory() -> None:
    """AA, a service body and one meeting per kind of write."""
    from fellowships.services import vocabularies_sync
    from tests.factories import ServiceBodyFactory, make_meeting

    vocabularies_sync()
    from fellowships.models import Fellowship

    office = ServiceBodyFactory(name="Writes Office", slug=OFFICE, fellowship=Fellowship.objects.get(slug="aa"))
    for kind in KINDS:
        make_meeting(name=f"{kind} before", slug=f"{kind}-meeting", service_body=office,
                     timezone="America/Los_Angeles")
    _superuser()


def _meeting(kind: str):
    from meetings.models import Meeting

    return Meeting.objects.get(slug=f"{kind}-meeting")


def prepare(kind: str) -> dict:
    """The URL that will show `kind`'s write, and the text it will show."""
    from meetings.services import meeting_save

    if kind == "importer":
        # A keyword only the feed's meetings have.
        return {"url": "/api/v1/meetings/?q=Serenity", "expected": "Sunday Serenity"}
    if kind == "revert":
        meeting = _meeting(kind)
        meeting.name = "revert after"
        meeting_save(meeting=meeting)
        return {"url": f"/api/v1/meetings/{kind}-meeting/", "expected": "revert before"}
    return {"url": f"/api/v1/meetings/{kind}-meeting/", "expected": f"{kind} after"}


def write(kind: str) -> None:
    from meetings.models import Meeting
    from meetings.services import meeting_save

    new_name = f"{kind} after"
    if kind == "service":
        meeting = _meeting(kind)
        meeting.name = new_name
        meeting_save(meeting=meeting)
    elif kind == "importer":
        from django.core.management import call_command

        call_command("import_feed", str(FEED), "--fellowship", "aa", "--service-body", OFFICE, verbosity=0)
    elif kind == "admin":
        from django.test import Client
        from django.urls import reverse

        from tests.test_admin import meeting_form_data

        client = Client()
        client.force_login(_superuser())
        meeting = _meeting(kind)
        response = client.post(reverse("admin:meetings_meeting_change", args=[meeting.pk]),
                               meeting_form_data(meeting, name=new_name))
        assert response.status_code == 302, response.content[:2000]
    elif kind == "change_request":
        from meetings.change_requests import change_request_approve, change_request_submit

        request = change_request_submit(description="renamed", proposed={"name": new_name}, meeting=_meeting(kind))
        change_request_approve(change_request=request, user=_superuser())
    elif kind == "revert":
        from meetings.history import history_revert

        history_revert(record=_meeting(kind).history.order_by("-history_id").first(), user=_superuser())
    elif kind == "bulk_update":
        Meeting.objects.filter(slug=f"{kind}-meeting").update(name=new_name)
    else:
        raise ValueError(kind)


def main() -> None:
    """One JSON command a line on stdin ({"do": "setup" | "prepare" | "write", "kind": ...}),
    one JSON answer a line on stdout."""
    import django

    django.setup()
    # Answers go to stdout alone: whatever the writes print (mail, counts) goes to stderr.
    answers, sys.stdout = sys.stdout, sys.stderr
    for line in sys.stdin:
        command = json.loads(line)
        try:
            if command["do"] == "setup":
                setup_directory()
                answer = {"ok": True}
            elif command["do"] == "prepare":
                answer = {"ok": True, **prepare(command["kind"])}
            else:
                write(command["kind"])
                answer = {"ok": True}
        except Exception as error:  # reported to the test, which fails with it
            answer = {"ok": False, "error": repr(error)}
        print(json.dumps(answer), file=answers, flush=True)


if __name__ == "__main__":
    main()
