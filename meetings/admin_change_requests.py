"""The curators' queue of public change requests: proposed values beside
the current ones, approve or reject (with a reason). Thin: decisions are
meetings/change_requests.py's. Registered from meetings/admin.py."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Case, IntegerField, Value, When
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext as _, gettext_lazy, ngettext

from meetings.admin_scope import CuratorScopedAdmin
from meetings.change_requests import (
    ChangeRequestDecided,
    ChangeRequestInvalid,
    ChangeRequestOutOfScope,
    LOCATION_FIELDS,
    change_request_approve,
    change_request_reject,
    proposed_beside_current,
)
from meetings.models import ChangeRequest, Location, Meeting


def shown_value(value) -> str:
    """A stored value as a curator reads it (proposed, current, the feed's)."""
    if value is None or value == "":
        return _("(empty)")
    if isinstance(value, list):
        return " ".join(value) or _("(none)")
    return str(value)


def field_label(model, name: str) -> str:
    """A field as a curator reads it, in their language: the name its form
    gives it ("conference URL"), never its column ("conference_url")."""
    return str(model._meta.get_field(name).verbose_name)


def proposed_field_label(name: str) -> str:
    """A field a change request proposes: a meeting's, or its place's
    ("name of the place", not the meeting's name)."""
    if name in LOCATION_FIELDS:
        return _("%(field)s of the place") % {"field": field_label(Location, LOCATION_FIELDS[name])}
    return field_label(Meeting, name)


@admin.action(description=gettext_lazy("Approve selected requests (apply their values)"), permissions=["change"])
def approve_selected(modeladmin, request: HttpRequest, queryset) -> None:
    approved = 0
    for change_request in queryset.filter(status=ChangeRequest.Status.PENDING):
        try:
            change_request_approve(change_request=change_request, user=request.user)
        except (ChangeRequestOutOfScope, ChangeRequestInvalid) as error:
            modeladmin.message_user(request, str(error), messages.ERROR)
            continue
        approved += 1
    text = ngettext("%(count)d request approved and applied.", "%(count)d requests approved and applied.",
                    approved) % {"count": approved}
    modeladmin.message_user(request, text, messages.SUCCESS if approved else messages.WARNING)


@admin.register(ChangeRequest)
class ChangeRequestAdmin(CuratorScopedAdmin):
    change_form_template = "admin/meetings/changerequest/change_form.html"
    list_display = ("__str__", "meeting", "service_body", "status", "created", "decided_by")
    list_filter = ("status", ("service_body", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("meeting", "service_body", "decided_by")
    search_fields = ("description", "meeting__name", "contact_email")
    actions = (approve_selected,)
    fields = ("meeting_link", "service_body", "description", "proposed_values", "contact_email", "language", "status",
              "created", "decided_by", "decided_at", "applied", "decision_note")
    readonly_fields = tuple(name for name in fields if name != "decision_note")
    # What waits for a curator first, oldest first: by the status's stored
    # word, "approved" sorted before "pending" and buried the queue.
    ordering = (Case(When(status=ChangeRequest.Status.PENDING, then=Value(0)), default=Value(1),
                     output_field=IntegerField()), "created")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: ChangeRequest | None = None):
        # Once decided, the note is what the sender was mailed as the reason:
        # rewriting it afterwards would make the record say something they never read.
        if obj is not None and obj.status != ChangeRequest.Status.PENDING:
            return (*self.readonly_fields, "decision_note")
        return self.readonly_fields

    @admin.display(description=gettext_lazy("meeting"))
    def meeting_link(self, change_request: ChangeRequest) -> str:
        if change_request.meeting_id is None:
            return _("A new meeting (approving creates it)")
        url = reverse("admin:meetings_meeting_change", args=[change_request.meeting_id])
        return format_html('<a href="{}">{}</a>', url, change_request.meeting)

    @admin.display(description=gettext_lazy("proposed values"))
    def proposed_values(self, change_request: ChangeRequest) -> str:
        rows = proposed_beside_current(change_request)
        if not rows:
            return _("No values proposed: read the description.")
        body = format_html_join("", "<tr><td>{}</td><td>{}</td><td><strong>{}</strong></td></tr>",
                                ((capfirst(proposed_field_label(name)), shown_value(current), shown_value(value))
                                 for name, current, value in rows))
        return format_html('<table class="proposed"><tr><th>{}</th><th>{}</th><th>{}</th></tr>{}</table>',
                           _("field"), _("current"), _("proposed"), body)

    def response_change(self, request: HttpRequest, obj: ChangeRequest):
        decision = "_approve" if "_approve" in request.POST else "_reject" if "_reject" in request.POST else None
        if decision is None:
            return super().response_change(request, obj)
        try:
            if decision == "_approve":
                meeting = change_request_approve(change_request=obj, user=request.user)
                self.message_user(request, _("Applied to %(meeting)s; its changed fields are now curated.")
                                  % {"meeting": meeting},
                                  messages.SUCCESS)
            else:
                change_request_reject(change_request=obj, user=request.user, reason=obj.decision_note)
                self.message_user(request, _("Rejected; the reason is recorded."), messages.SUCCESS)
        except ChangeRequestInvalid as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.path)
        except (ChangeRequestDecided, ChangeRequestOutOfScope) as error:
            self.message_user(request, str(error), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:meetings_changerequest_changelist"))
