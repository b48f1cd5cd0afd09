"""The data-quality review page of one service body: each rule of
meetings/quality.py with its count and a link to the admin list filtered by
it (the "needs attention" and "service body (with children)" filters), and
the body's feed sources whose last run failed or was held."""

from __future__ import annotations

from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from fellowships.models import ServiceBody
from meetings import curation, quality


def quality_context(*, request: HttpRequest, body: ServiceBody, meetings) -> dict:
    body_ids = curation.service_body_tree_ids(root_ids=[body.pk])
    meetings = meetings.filter(service_body_id__in=body_ids)
    changelist = reverse("admin:meetings_meeting_changelist")
    rows = [
        {
            "label": rule.label,
            "count": rule.select(meetings=meetings).count(),
            "url": f"{changelist}?{urlencode({'quality': rule.slug, 'body': body.pk})}",
        }
        for rule in quality.QUALITY_RULES
    ]
    sources = curation.feed_sources_curated_by(user=request.user).filter(service_body_id__in=body_ids)
    rows.append({
        "label": _("Feed sources whose last run failed or was held"),
        "count": quality.feed_sources_needing_attention(sources=sources).count(),
        "url": f"{reverse('admin:meetings_feedsource_changelist')}?{urlencode({'attention': 'yes', 'body': body.pk})}",
    })
    return {"body": body, "rows": rows, "title": _("Data-quality review: %(body)s") % {"body": body.name}}
