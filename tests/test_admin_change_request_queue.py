"""The change-request queue opens on what is waiting for a curator: the
pending requests, oldest first, before those already decided."""

from __future__ import annotations

import pytest
from django.urls import reverse

from meetings.change_requests import change_request_approve, change_request_reject, change_request_submit
from tests.factories import make_meeting


@pytest.mark.django_db
def test_pending_requests_come_before_decided_ones(aa_client, directory):
    meeting = make_meeting(name="Tuesday Hall", service_body=directory.aa_office)
    approved = change_request_submit(meeting=meeting, description="Approved one.", proposed={"notes": "Approved"})
    rejected = change_request_submit(meeting=meeting, description="Rejected one.", proposed={})
    first_pending = change_request_submit(meeting=meeting, description="First pending.", proposed={})
    second_pending = change_request_submit(meeting=meeting, description="Second pending.", proposed={})
    change_request_approve(change_request=approved, user=directory.aa_curator)
    change_request_reject(change_request=rejected, user=directory.aa_curator, reason="Not so.")
    response = aa_client.get(reverse("admin:meetings_changerequest_changelist"))
    listed = [request.pk for request in response.context["cl"].result_list]
    assert listed == [first_pending.pk, second_pending.pk, approved.pk, rejected.pk]
