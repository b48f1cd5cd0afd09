"""Admin for feed sources and their import runs: thin, every action calls
the importer or the task. Registered from `meetings/admin.py`."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _, gettext_lazy, ngettext, pgettext_lazy

from meetings import curation, quality
from meetings.admin_scope import CuratorScopedAdmin, ServiceBodyTreeFilter
from meetings.feeds.claims import SourceBusy
from meetings.feeds.dispatch import IN_BACKGROUND, ImportQueueUnavailable, feed_import_start
from meetings.feeds.importer import SUPERSEDED, HeldRunSuperseded, import_run_approve, import_run_meetings
from meetings.forms import FeedSourceAdminForm
from meetings.models import FeedSource, ImportIssue, ImportRun
from meetings.services import feed_source_save


class ImportRunInline(admin.TabularInline):
    model = ImportRun
    fields = ("started", "status", "reason", "created", "updated", "unchanged", "removed", "rejected", "skipped",
              "duration_seconds")
    readonly_fields = fields
    extra = 0
    max_num = 0
    show_change_link = True
    ordering = ("-started",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("payload", "payload_reading")


class FeedAttentionFilter(admin.SimpleListFilter):
    # The data-quality review's link: last run failed or held.
    title = gettext_lazy("needs attention")
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", _("Last run failed or was held"))]

    def queryset(self, request, queryset):
        return quality.feed_sources_needing_attention(sources=queryset) if self.value() == "yes" else queryset


@admin.register(FeedSource)
class FeedSourceAdmin(CuratorScopedAdmin):
    form = FeedSourceAdminForm
    list_display = ("name", "format", "fellowship", "service_body", "enabled", "last_run_at", "last_status")
    list_filter = (FeedAttentionFilter, ServiceBodyTreeFilter, "format", "enabled", "last_status", "fellowship")
    search_fields = ("name", "slug", "url")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("last_run_at", "last_status", "running_since", "claimed_by")
    inlines = [ImportRunInline]
    actions = ["import_now"]

    def changeform_view(self, request, *args, **kwargs):
        # A run that claims the source between the form's check and the
        # handover (feed_source_save holds the claim) stops it whole: the
        # admin's transaction rolls back, and the curator is told, not shown a 500.
        try:
            return super().changeform_view(request, *args, **kwargs)
        except SourceBusy:
            self.message_user(request, _("An import of this feed started while it was being saved: nothing was "
                                         "changed. Try again when the import ends."), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj: FeedSource, form: FeedSourceAdminForm, change: bool) -> None:
        moved = feed_source_save(source=obj, user=request.user)
        if moved:
            self.message_user(request, ngettext("%(count)d meeting moved to %(body)s.",
                                                "%(count)d meetings moved to %(body)s.", moved) % {
                "count": moved, "body": obj.service_body}, messages.SUCCESS)

    def get_deleted_objects(self, objs, request):
        # The delete page and the bulk action: a source with meetings is
        # protected (Meeting.feed_source); say what to do instead.
        deleted = super().get_deleted_objects(objs, request)
        if deleted[3]:
            self.message_user(request, _(
                "A feed source with meetings is not deleted: they would stay listed with nothing to update or "
                "remove them. To stop its imports, untick Enabled; to take its meetings out of the directory, "
                "unpublish them (or delete them) first."), messages.WARNING)
        return deleted

    @admin.action(description=gettext_lazy("Import now"), permissions=["change"])
    def import_now(self, request, queryset):
        started = {}
        for source in queryset:
            try:
                started[source.pk] = feed_import_start(source_id=source.pk)
            except ImportQueueUnavailable:
                self.message_user(request, _("The import queue is unavailable, try again later."), messages.ERROR)
                break
        if not started:
            return
        if IN_BACKGROUND in started.values():
            text = ngettext(
                "Import started in the background for %(count)d source; each run appears on its source when it "
                "finishes.",
                "Import started in the background for %(count)d sources; each run appears on its source when it "
                "finishes.", len(started)) % {"count": len(started)}
        else:
            text = ngettext("Import queued for %(count)d source.", "Import queued for %(count)d sources.",
                            len(started)) % {"count": len(started)}
        self.message_user(request, text, messages.SUCCESS)


class ImportIssueInline(admin.TabularInline):
    model = ImportIssue
    fields = ("kind", "record_key", "field", "reason")
    readonly_fields = fields
    extra = 0
    max_num = 0


# A run's page names at most this many meetings of each kind (`import_run_meetings`) and counts the rest.
RUN_MEETINGS_SHOWN = 50
RUN_MEETING_KINDS = {
    "added": pgettext_lazy("meetings a run wrote", "Added"),
    "changed": pgettext_lazy("meetings a run wrote", "Changed"),
    "removed": pgettext_lazy("meetings a run wrote", "Removed (gone from the feed)"),
    "held": pgettext_lazy("meetings a run wrote", "Held (a curated value kept, or another service body's now)"),
    "would_remove": pgettext_lazy("meetings a run wrote",
                                  "Would be removed (gone from the feed; the run is held, nothing was written)"),
    "would_unpublish": pgettext_lazy("meetings a run wrote",
                                     "Would be unpublished (the feed says so; the run is held, nothing was written)"),
}


@admin.register(ImportRun)
class ImportRunAdmin(CuratorScopedAdmin):
    list_display = ("source", "started", "status", "created", "updated", "unchanged", "removed", "rejected",
                    "repaired", "skipped", "duration_seconds")
    list_filter = ("status", ("source", admin.RelatedOnlyFieldListFilter))
    exclude = ("payload", "payload_reading", "would_remove", "would_unpublish")
    readonly_fields = [f.name for f in ImportRun._meta.fields if f.name not in
                       ("payload", "payload_reading", "would_remove", "would_unpublish")]
    inlines = [ImportIssueInline]
    actions = ["approve"]

    def has_add_permission(self, request):
        return False

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context = {**context, "run_meetings": self.run_meetings(request, run=obj)}
        return super().render_change_form(request, context, add=add, change=change, form_url=form_url, obj=obj)

    def run_meetings(self, request, *, run: ImportRun) -> list[dict]:
        """Each kind of meeting the run wrote: those the viewer curates, by
        name and linked, at most RUN_MEETINGS_SHOWN, and how many more."""
        sections = []
        for kind, meetings in import_run_meetings(run=run).items():
            total = meetings.count()
            if not total:
                continue
            shown = curation.meetings_curated_by(user=request.user, queryset=meetings).only(
                "pk", "name", "day").order_by("name", "day", "pk")[:RUN_MEETINGS_SHOWN]
            # A meeting held on several days is one row per day: each named with its day.
            links = [format_html('<a href="{}">{}</a>', reverse("admin:meetings_meeting_change", args=[meeting.pk]),
                                 meeting.name if meeting.day is None else f"{meeting.name} ({meeting.get_day_display()})")
                     for meeting in shown]
            sections.append({"label": RUN_MEETING_KINDS[kind], "links": links, "more": total - len(links)})
        return sections

    @admin.action(description=gettext_lazy("Approve held runs (apply the feed as fetched)"), permissions=["change"])
    def approve(self, request, queryset):
        # Held runs, and those a later run superseded (each is told why it is not applied).
        approvable = Q(status=ImportRun.Status.HELD) | Q(status=ImportRun.Status.FAILED,
                                                         reason__startswith=SUPERSEDED)
        for run in queryset.filter(approvable).select_related("source").order_by("pk"):
            try:
                run = import_run_approve(run=run)
            except SourceBusy:
                self.message_user(request, _("%(source)s: another run of this source is in progress; approve again "
                                             "when it is done.") % {"source": run.source}, messages.WARNING)
                continue
            except HeldRunSuperseded as error:
                self.message_user(request, _("%(source)s: run %(run)s was not applied: a later run of this source "
                                             "succeeded or was held, and applying this older feed would roll the "
                                             "directory back (%(why)s).") % {
                    "source": run.source, "run": run.pk, "why": error}, messages.ERROR)
                continue
            level = messages.SUCCESS if run.status == ImportRun.Status.SUCCEEDED else messages.ERROR
            self.message_user(request, f"{run.source}: {run.get_status_display()} {run.reason}".strip(), level)
