"""What the directory publishes: regions, locations and weekly meetings.

A meeting held on several weekdays is stored as one `Meeting` per weekday.
The rows share `group` (the group holding them) and, when they came from one
feed record, the same `source_key` stem; each has its own stable slug. This
keeps every query, index and export one row per weekly occurrence, which is
also how Meeting Guide consumers and BMLT model it.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.functions import Upper
from django.utils.translation import gettext, gettext_lazy as _, pgettext_lazy
from django.utils.timezone import now
from simple_history.models import HistoricalRecords

from fellowships.models import Fellowship, MeetingType, OpenClosed, ServiceBody, service_body_fellowship_problem
from fellowships.querysets import AnnouncedWritesQuerySet
from meetings.querysets import BODY_BY_SERVICE, FeedSourceQuerySet, MeetingManager


def unused_slug(*, model: type[models.Model], base: str) -> str:
    """`base`, else `base-2`, `base-3` ...: the first no `model` row has as its slug."""
    slug, number = base, 1
    while model.objects.filter(slug=slug).exists():
        number += 1
        slug = f"{base}-{number}"
    return slug


class Region(models.Model):
    """A place for browsing: Orange County > Irvine."""

    slug = models.SlugField(verbose_name=_("slug"), max_length=100, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), on_delete=models.PROTECT, null=True, blank=True, related_name="children",
    )

    objects = AnnouncedWritesQuerySet.as_manager()

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def history_user_id_field() -> models.IntegerField:
    """Who made a change, as the user's id without a constraint: deleting an
    account keeps its changes a person's (history.Attribution names them "a
    deleted account"), where a foreign key would set them to nobody."""
    return models.IntegerField(null=True, blank=True, db_index=True)


class ChangeAttribution(models.Model):
    """What made a change besides a user, on every historical row
    (meetings/history.py fills it in): an import run or an approved request.
    Kept when the run or request is deleted (DO_NOTHING, no constraint): the
    history, and the public changes feed, go on saying what made the change."""

    import_run = models.ForeignKey(
        "meetings.ImportRun", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
        db_constraint=False,
    )
    change_request = models.ForeignKey(
        "meetings.ChangeRequest", on_delete=models.DO_NOTHING, null=True, blank=True, related_name="+",
        db_constraint=False,
    )

    class Meta:
        abstract = True


class MeetingChangeAttribution(ChangeAttribution):
    # The meeting's type codes at that moment: types are a many-to-many, which
    # the historical row would otherwise not carry.
    type_codes = models.JSONField(null=True, blank=True)

    class Meta:
        abstract = True


# A location's address in parts, as feeds send it and the admin edits it.
ADDRESS_PARTS = ("address", "city", "state", "postal_code", "country")


def address_as_read(*, formatted_address: str, address: str, city: str, state: str, postal_code: str,
                    country: str) -> str:
    """A location's address as people read it, the one rule of every reader
    (pages, calendars, search text, API rows, feeds): the formatted address
    the feed or a curator gave, else its parts joined ("1 Main St, Santa Ana,
    CA 92701, US"), as many feeds send only the parts."""
    if formatted_address:
        return formatted_address
    return ", ".join(part for part in (address, city, " ".join(p for p in (state, postal_code) if p), country)
                     if part)


class Location(models.Model):
    """A venue, or for online-only meetings an approximate city-level place."""

    class GeocodeStatus(models.TextChoices):
        NOT_NEEDED = "", _("Not geocoded (coordinates given)")
        OK = "ok", _("Geocoded")
        MANUAL = "manual", _("Placed by hand")
        FAILED = "failed", _("Geocoding failed")

    name = models.CharField(
        verbose_name=_("name"), max_length=200, blank=True, help_text=_("Venue name, e.g. 'Community Church'."),
    )
    address = models.CharField(
        verbose_name=_("address"), max_length=200, blank=True, help_text=_("Street address only."),
    )
    city = models.CharField(verbose_name=_("city"), max_length=100, blank=True)
    state = models.CharField(verbose_name=_("state"), max_length=50, blank=True)
    postal_code = models.CharField(verbose_name=_("postal code"), max_length=20, blank=True)
    country = models.CharField(verbose_name=_("country"), max_length=50, blank=True, default="US")
    formatted_address = models.CharField(verbose_name=_("formatted address"), max_length=300, blank=True)
    latitude = models.FloatField(verbose_name=_("latitude"), null=True, blank=True)
    longitude = models.FloatField(verbose_name=_("longitude"), null=True, blank=True)
    approximate = models.BooleanField(
        verbose_name=_("approximate"), default=False, help_text=_("The position is only an area, not a door."),
    )
    timezone = models.CharField(verbose_name=_("time zone"), max_length=64, blank=True)
    # PROTECT: a region deleted from under its places would change their
    # meetings' public `region` with no history a mirror reads.
    region = models.ForeignKey(
        Region, verbose_name=_("region"), on_delete=models.PROTECT, null=True, blank=True, related_name="locations",
    )
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    geocode_status = models.CharField(
        verbose_name=_("geocode status"), max_length=8, choices=GeocodeStatus.choices, blank=True,
    )
    geocode_error = models.CharField(verbose_name=_("geocode error"), max_length=300, blank=True)
    # Who added it in the admin: a curator may edit the locations of their
    # bodies' meetings and the ones they made (meetings/curation.py).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), on_delete=models.SET_NULL, null=True, blank=True,
        editable=False, related_name="+"
    )
    # A place a feed described (the sample data is a feed too): the feed's
    # place key within `source` ("feed:<id>", or a namespace shared by several
    # sources), so a later import finds it again.
    source = models.CharField(verbose_name=_("source"), max_length=200, blank=True, editable=False)
    source_key = models.CharField(verbose_name=_("source key"), max_length=200, blank=True, editable=False)
    # Curated fields, as on meetings (meetings/feeds/locks.py): what a curator
    # changed (a pin placed by hand, a note) and the feed's latest values.
    locked_fields = models.JSONField(verbose_name=_("locked fields"), default=list, blank=True, editable=False)
    feed_values = models.JSONField(verbose_name=_("feed values"), default=dict, blank=True, editable=False)

    history = HistoricalRecords(bases=[ChangeAttribution], history_user_id_field=history_user_id_field(),
                                excluded_fields=["created_by", "locked_fields", "feed_values"])
    # Its queryset writes are announced (pre_queryset_write), as saves are.
    objects = AnnouncedWritesQuerySet.as_manager()

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["name", "formatted_address"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "source_key"],
                condition=~models.Q(source_key=""),
                name="location_unique_source_key",
            ),
        ]
        indexes = [
            # A bare city name ("Irvine") completed with its states
            # (filters.bare_city_states), compared case-blind as `iexact` does;
            # the names of one initial offered for a place not known (filters._city_spelt_like).
            models.Index(Upper("city"), name="location_city_upper"),
        ]

    def __str__(self) -> str:
        return ", ".join(part for part in (self.name, self.address_as_read) if part) or f"Location {self.pk}"

    @property
    def address_as_read(self) -> str:
        return address_as_read(formatted_address=self.formatted_address,
                               **{part: getattr(self, part) for part in ADDRESS_PARTS})


class Attendance(models.TextChoices):
    IN_PERSON = "in_person", _("In person")
    HYBRID = "hybrid", _("Hybrid")
    ONLINE = "online", _("Online")
    INACTIVE = "inactive", _("Inactive")


class Meeting(models.Model):
    fellowship = models.ForeignKey(
        Fellowship, verbose_name=_("fellowship"), on_delete=models.PROTECT, related_name="meetings",
    )
    service_body = models.ForeignKey(
        ServiceBody, verbose_name=_("service body"), on_delete=models.PROTECT, related_name="meetings",
    )
    location = models.ForeignKey(
        Location, verbose_name=_("location"), on_delete=models.PROTECT, null=True, blank=True, related_name="meetings",
    )
    slug = models.SlugField(verbose_name=_("slug"), max_length=64, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=255)
    # Sunday = 0 as in Meeting Guide; none means by appointment.
    day = models.PositiveSmallIntegerField(verbose_name=_("day"), null=True, blank=True, choices=[
        (0, _("Sunday")), (1, _("Monday")), (2, _("Tuesday")), (3, _("Wednesday")),
        (4, _("Thursday")), (5, _("Friday")), (6, _("Saturday")),
    ])
    # Wall-clock time in `timezone`, never UTC.
    time = models.TimeField(verbose_name=_("time"), null=True, blank=True)
    end_time = models.TimeField(verbose_name=_("end time"), null=True, blank=True)
    timezone = models.CharField(
        verbose_name=_("time zone"), max_length=64, blank=True,
        help_text=_("IANA time zone, e.g. America/Los_Angeles."),
    )
    types = models.ManyToManyField(MeetingType, verbose_name=_("types"), blank=True, related_name="meetings")
    # Derived from the types by the fellowship's rule; blank means not stated.
    open_closed = models.CharField(
        verbose_name=_("open or closed"), max_length=6, choices=OpenClosed.choices, blank=True,
    )
    # Derived from TC, the usable conference details and the location (meeting-guide.md).
    attendance = models.CharField(
        verbose_name=_("attendance"), max_length=10, choices=Attendance.choices, default=Attendance.IN_PERSON,
    )
    conference_url = models.URLField(verbose_name=_("conference URL"), max_length=500, blank=True)
    conference_url_notes = models.TextField(verbose_name=_("conference URL notes"), blank=True)
    # Provider label of a recognised host ("Zoom"); blank when the host is unknown.
    conference_provider = models.CharField(verbose_name=_("conference provider"), max_length=40, blank=True)
    conference_phone = models.CharField(verbose_name=_("conference phone"), max_length=64, blank=True)
    conference_phone_notes = models.TextField(verbose_name=_("conference phone notes"), blank=True)
    notes = models.TextField(verbose_name=_("notes"), blank=True)
    group = models.CharField(verbose_name=_("group"), max_length=200, blank=True)
    group_notes = models.TextField(verbose_name=_("group notes"), blank=True)
    url = models.URLField(
        verbose_name=_("URL"), max_length=500, blank=True, help_text=_("The meeting's page on the publisher's site."),
    )
    published = models.BooleanField(verbose_name=_("published"), default=True)
    needs_review = models.BooleanField(verbose_name=_("needs review"), default=False)
    review_reason = models.CharField(verbose_name=_("review reason"), max_length=300, blank=True)
    # Copied from the location so that geo search filters and orders one table
    # through one index (see the GiST index in migration 0002).
    latitude = models.FloatField(verbose_name=_("latitude"), null=True, blank=True, editable=False)
    longitude = models.FloatField(verbose_name=_("longitude"), null=True, blank=True, editable=False)
    # Where it came from: "admin", "change-request", or a feed ("feed:<id>"; the
    # sample data is feeds too); with the feed's own key
    # so imports can match and update it.
    source = models.CharField(verbose_name=_("source"), max_length=200, blank=True)
    source_key = models.CharField(verbose_name=_("source key"), max_length=200, blank=True)
    created = models.DateTimeField(verbose_name=_("created"), default=now, editable=False)
    updated = models.DateTimeField(verbose_name=_("updated"), default=now)
    # Feed bookkeeping (meetings/feeds/importer.py). `content_hash` is the hash
    # of the last applied feed record, so an unchanged record costs no write.
    # PROTECT: a source deleted from under its meetings would leave them
    # public with nothing to update or remove them, unrecorded (disable it instead).
    feed_source = models.ForeignKey(
        "meetings.FeedSource", verbose_name=_("feed source"), on_delete=models.PROTECT, null=True, blank=True,
        related_name="meetings"
    )
    content_hash = models.CharField(verbose_name=_("content hash"), max_length=64, blank=True, editable=False)
    # Derived (meetings/keywords.py): its text, its venue's and its types'
    # names, folded, for keyword search through one trigram index.
    search_text = models.TextField(verbose_name=_("search text"), blank=True, default="", editable=False)
    # Derived (meetings/keywords.py): its types' codes, each a word, so a
    # search by type is a condition on the row, not a lookup per meeting.
    type_code_text = models.TextField(verbose_name=_("type codes"), blank=True, default="", editable=False)
    # Derived: the languages its types name (" es "), for a search by language.
    language_text = models.TextField(verbose_name=_("languages"), blank=True, default="", editable=False)
    # Gone from its feed: kept (history, favourites) and restored if it returns.
    removed = models.BooleanField(verbose_name=_("removed"), default=False)
    removed_at = models.DateTimeField(verbose_name=_("removed at"), null=True, blank=True)
    # Curated fields: names an admin edited, which imports leave alone, and the
    # feed's latest value of every imported field, shown beside the curated one.
    locked_fields = models.JSONField(verbose_name=_("locked fields"), default=list, blank=True)
    feed_values = models.JSONField(verbose_name=_("feed values"), default=dict, blank=True, editable=False)
    # The same meeting listed by another source: this row records the second
    # source and is not shown; the primary is shown once.
    duplicate_of = models.ForeignKey(
        "self", verbose_name=_("duplicate of"), on_delete=models.SET_NULL, null=True, blank=True,
        related_name="duplicates"
    )
    # A curator's word that this meeting and another, once taken for one
    # listed twice, are two: no import hides either behind the other again
    # (meetings/feeds/duplicates.py) unless it is taken back
    # (services.meetings_not_copies_undo). Both ways, as the word is.
    not_copy_of = models.ManyToManyField(
        "self", verbose_name=_("not a copy of"), symmetrical=True, blank=True,
        help_text=_("Meetings a curator said are other meetings, not the same one listed twice."),
    )

    objects = MeetingManager()
    # Feed bookkeeping is left out: it changes with every import and says
    # nothing a curator or a mirror reads.
    history = HistoricalRecords(
        bases=[MeetingChangeAttribution], history_user_id_field=history_user_id_field(),
        excluded_fields=["content_hash", "feed_values", "locked_fields", "search_text", "type_code_text",
                         "language_text"],
    )

    class Meta:
        verbose_name = _("meeting")
        verbose_name_plural = _("meetings")
        ordering = ["day", "time", "name", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(day__gte=0, day__lte=6), name="meeting_day_0_to_6"),
            models.UniqueConstraint(
                fields=["source", "source_key"],
                condition=~models.Q(source_key=""),
                name="meeting_unique_source_key",
            ),
        ]
        indexes = [
            # Bounding-box prefilter of geo search on SQLite.
            models.Index(fields=["latitude", "longitude"], name="meeting_lat_lng"),
            # Unplaced listing: published meetings by weekday and time.
            models.Index(fields=["day", "time"], condition=models.Q(published=True), name="meeting_pub_day_time"),
            # The admin's list of meetings, unpublished ones too (migration 0021).
            models.Index(fields=["day", "time"], name="meeting_day_time"),
            # starting_within: meetings of a zone in a wall-clock window; the
            # distinct weekly times, one probe each (selectors.clock_turns).
            # On PostgreSQL a time without an end comes before its ends (migration 0035).
            models.Index(fields=["timezone", "day", "time", "end_time"], name="meeting_tz_day_time_end"),
        ]

    def __str__(self) -> str:
        return self.name


class GeocodeCacheEntry(models.Model):
    """An online geocoder's answer, kept so a place is looked up once."""

    provider = models.CharField(max_length=30)
    query = models.CharField(max_length=300)
    latitude = models.FloatField(null=True)
    longitude = models.FloatField(null=True)
    label = models.CharField(max_length=300, blank=True)
    timezone = models.CharField(max_length=64, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "query"], name="geocode_cache_unique_query"),
        ]


class FeedFormat(models.TextChoices):
    MEETING_GUIDE = "meeting-guide", _("Meeting Guide JSON")
    BMLT = "bmlt", _("BMLT")
    CSV = "csv", _("CSV (TSML template columns)")


class ImportStatus(models.TextChoices):
    """An import run's status (`ImportRun.Status`), and its source's last one."""

    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Succeeded")
    HELD = "held", _("Held for approval")
    FAILED = "failed", _("Failed")


def feed_url_problem(url: str) -> str:
    """Why `url` cannot be a feed source's URL, or "" when it can. Only
    http(s) URLs with a host: a curator must never be able to name a file on
    the server (`/etc/passwd`, `file:///...`); only the `import_feed` command
    line may read a local file."""
    if not url:
        return ""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return ("A feed URL must be an http:// or https:// address; local files and other schemes are refused "
                "(upload the file instead).")
    return ""


def validate_feed_url(url: str) -> None:
    problem = feed_url_problem(url)
    if problem:
        raise ValidationError(problem, code="feed_url")


class FeedSource(models.Model):
    """A feed a service body publishes, curated in the admin and imported on a schedule."""

    slug = models.SlugField(verbose_name=_("slug"), max_length=80, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=200)
    format = models.CharField(
        verbose_name=_("format"), max_length=16, choices=FeedFormat.choices, default=FeedFormat.MEETING_GUIDE,
    )
    url = models.CharField(
        verbose_name=_("URL"), max_length=500, blank=True, validators=[validate_feed_url],
        help_text=_("Feed URL; for BMLT the root server URL (…/main_server). Empty when a file is uploaded."),
    )
    upload = models.FileField(
        verbose_name=_("upload"), upload_to="feeds/", blank=True, help_text=_("A feed file, instead of a URL."),
    )
    fellowship = models.ForeignKey(
        Fellowship, verbose_name=_("fellowship"), on_delete=models.PROTECT, related_name="feed_sources",
    )
    service_body = models.ForeignKey(
        ServiceBody, verbose_name=_("service body"), on_delete=models.PROTECT, related_name="feed_sources",
    )
    # BMLT: which of the server's service bodies to take (ids, sub-bodies included).
    bmlt_service_body_ids = models.CharField(
        verbose_name=_("BMLT service body ids"), max_length=200, blank=True, help_text=_("Comma-separated BMLT ids."),
    )
    refresh_minutes = models.PositiveIntegerField(verbose_name=_("refresh minutes"), default=12 * 60)
    enabled = models.BooleanField(verbose_name=_("enabled"), default=True)
    # Share of its meetings a run may take out of the listing (remove or
    # unpublish) before it is held; empty = the setting.
    shrink_guard_share = models.FloatField(verbose_name=_("shrink guard share"), null=True, blank=True)
    last_run_at = models.DateTimeField(verbose_name=_("last run at"), null=True, blank=True)
    last_status = models.CharField(verbose_name=_("last status"), max_length=10, blank=True,
                                   choices=ImportStatus.choices)
    # Claimed by a running import: one run per source at a time
    # (meetings/feeds/claims.py); `claimed_by` says which process holds it,
    # so a claim left by a killed process is recognised as stale.
    running_since = models.DateTimeField(verbose_name=_("running since"), null=True, blank=True, editable=False)
    claimed_by = models.CharField(verbose_name=_("claimed by"), max_length=200, blank=True, editable=False)
    # Conditional GET: the ETag and Last-Modified of the last successful import,
    # and the URL they belong to (a changed URL is downloaded in full).
    fetched_url = models.CharField(verbose_name=_("fetched URL"), max_length=500, blank=True, editable=False)
    fetched_etag = models.CharField(verbose_name=_("fetched ETag"), max_length=500, blank=True, editable=False)
    fetched_last_modified = models.CharField(
        verbose_name=_("fetched last modified"), max_length=500, blank=True, editable=False,
    )

    objects = FeedSourceQuerySet.as_manager()

    class Meta:
        verbose_name = _("feed source")
        verbose_name_plural = _("feed sources")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        # Only when both were given: a missing one is already its field's error.
        if self.fellowship_id is not None and self.service_body_id is not None and (
                problem := service_body_fellowship_problem(service_body=self.service_body, fellowship=self.fellowship)):
            errors["service_body"] = ValidationError(problem, code="fellowship_mismatch")
        # A share above 1 would never hold a run (the shrink guard silently off);
        # empty means the FEEDS_SHRINK_GUARD_SHARE setting, 0 holds any removal.
        if self.shrink_guard_share is not None and not 0 <= self.shrink_guard_share <= 1:
            errors["shrink_guard_share"] = ValidationError(
                _("Give a share between 0 and 1 (0.3: a run that would remove more than 3 in 10 of the meetings "
                  "is held), or leave it empty for the default."), code="shrink_guard_share_range")
        # 0 would make the source due on every beat of the scheduler (tasks.sources_due).
        if self.refresh_minutes is not None and self.refresh_minutes < 1:
            errors["refresh_minutes"] = ValidationError(
                _("Refresh at most once a minute: give 1 or more minutes."), code="refresh_minutes_min")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, handed_over: bool = False, **kwargs) -> None:
        """Given another service body, a source takes its listings with it
        (`services.feed_source_save`, the one path, says `handed_over`): a
        plain save would leave them in the old body, skipped by its imports."""
        update_fields = kwargs.get("update_fields")
        body_written = update_fields is None or "service_body" in update_fields or "service_body_id" in update_fields
        if body_written and not (self._state.adding or handed_over) and FeedSource.objects.filter(
                pk=self.pk).exclude(service_body_id=self.service_body_id).exists():
            raise ValueError(BODY_BY_SERVICE)
        super().save(*args, **kwargs)

    @property
    def meeting_source(self) -> str:
        """The value of `Meeting.source` for this feed's meetings."""
        return f"feed:{self.pk}"


class ImportRun(models.Model):
    """One import of one feed: what it did, or why it was held."""

    Status = ImportStatus

    source = models.ForeignKey(FeedSource, verbose_name=_("source"), on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(verbose_name=_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    reason = models.TextField(verbose_name=_("reason"), blank=True, help_text=_("Why the run was held or failed."))
    started = models.DateTimeField(verbose_name=_("started"), default=now)
    finished = models.DateTimeField(verbose_name=_("finished"), null=True, blank=True)
    duration_seconds = models.FloatField(verbose_name=_("duration seconds"), null=True, blank=True)
    records = models.PositiveIntegerField(verbose_name=_("records"), default=0)
    # How many meetings: "meetings" tells a translator these are counts of them (Spanish: creadas, not creada).
    created = models.PositiveIntegerField(verbose_name=pgettext_lazy("meetings", "created"), default=0)
    updated = models.PositiveIntegerField(verbose_name=pgettext_lazy("meetings", "updated"), default=0)
    unchanged = models.PositiveIntegerField(verbose_name=pgettext_lazy("meetings", "unchanged"), default=0)
    removed = models.PositiveIntegerField(verbose_name=pgettext_lazy("meetings", "removed"), default=0)
    restored = models.PositiveIntegerField(verbose_name=pgettext_lazy("meetings", "restored"), default=0)
    rejected = models.PositiveIntegerField(verbose_name=_("rejected"), default=0)
    repaired = models.PositiveIntegerField(verbose_name=_("repaired"), default=0)
    duplicates = models.PositiveIntegerField(verbose_name=_("duplicates"), default=0)
    # Records left alone because their meeting now belongs to a service body
    # the source's does not keep (moved by a person; meetings.curation.feed_source_body_ids).
    skipped = models.PositiveIntegerField(verbose_name=_("skipped"), default=0)
    # Type codes the fellowship's vocabulary lacks, with how many of the feed's records use each
    # (a record meeting on several days is one; unchanged records count too).
    unknown_types = models.JSONField(verbose_name=_("unknown types"), default=dict, blank=True)
    # Issues past FEEDS_PARSE_MAX_ISSUES are counted here, not stored.
    issues_left_out = models.PositiveIntegerField(verbose_name=_("issues left out"), default=0)
    # The feed as fetched, kept while held so an approval applies exactly it.
    payload = models.TextField(verbose_name=_("payload"), blank=True, editable=False)
    # How the approval reads the payload as this run read it: the format, the
    # options given with the feed (a BMLT format table), and "records" when the
    # run was given decoded records (kept as JSON) rather than a feed's text.
    payload_reading = models.JSONField(verbose_name=_("payload reading"), default=dict, blank=True,
                                       editable=False)
    # While held: the ids of the meetings it would remove, and unpublish, for its reviewer.
    would_remove = models.JSONField(verbose_name=_("would remove"), default=list, blank=True, editable=False)
    would_unpublish = models.JSONField(verbose_name=_("would unpublish"), default=list, blank=True, editable=False)
    approved_at = models.DateTimeField(verbose_name=_("approved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("import run")
        verbose_name_plural = _("import runs")
        ordering = ["-started", "-id"]
        indexes = [
            # A source's runs, newest first (admin inline, last status).
            models.Index(fields=["source", "-started"], name="import_run_source_started"),
        ]

    def __str__(self) -> str:
        return f"{self.source} {self.started:%Y-%m-%d %H:%M} {self.get_status_display()}"


class ImportIssue(models.Model):
    """A record a run rejected, repaired with a note, or skipped (left
    alone: its meeting is another service body's now)."""

    class Kind(models.TextChoices):
        REJECTED = "rejected", _("Rejected")
        REPAIRED = "repaired", _("Repaired")
        SKIPPED = "skipped", _("Skipped")

    run = models.ForeignKey(ImportRun, verbose_name=_("run"), on_delete=models.CASCADE, related_name="issues")
    kind = models.CharField(verbose_name=_("kind"), max_length=10, choices=Kind.choices)
    record_key = models.CharField(
        verbose_name=_("record key"), max_length=200, blank=True, help_text=_("The feed's slug or id of the record."),
    )
    field = models.CharField(verbose_name=_("field"), max_length=60, blank=True)
    reason = models.TextField(verbose_name=_("reason"))

    class Meta:
        verbose_name = _("import issue")
        verbose_name_plural = _("import issues")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.record_key} {self.field}: {self.reason}"


class ChangeRequest(models.Model):
    """A correction (or a new meeting) sent by the public, waiting for a
    curator of the meeting's service body (meetings/change_requests.py)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    # Empty for a proposed new meeting, which names its service body instead.
    meeting = models.ForeignKey(
        Meeting, verbose_name=_("meeting"), on_delete=models.CASCADE, null=True, blank=True,
        related_name="change_requests",
    )
    service_body = models.ForeignKey(
        ServiceBody, verbose_name=_("service body"), on_delete=models.CASCADE, related_name="change_requests",
    )
    description = models.TextField(verbose_name=_("description"), help_text=_("What the sender says is wrong."))
    # Field name -> value as validated at submission (meetings/change_requests.py encodes them).
    proposed = models.JSONField(verbose_name=_("proposed"), default=dict, blank=True)
    contact_email = models.EmailField(verbose_name=_("contact email"), blank=True)
    # The sender's language (a code of settings.LANGUAGES): the decision is mailed in it.
    language = models.CharField(verbose_name=_("language"), max_length=10, blank=True, editable=False)
    status = models.CharField(verbose_name=_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    created = models.DateTimeField(verbose_name=_("created"), default=now, editable=False)
    decided_at = models.DateTimeField(verbose_name=_("decided at"), null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("decided by"), on_delete=models.SET_NULL, null=True, blank=True,
        editable=False, related_name="+"
    )
    decision_note = models.TextField(
        verbose_name=_("decision note"), blank=True,
        help_text=_("Why it was rejected (required to reject), or a note."),
    )
    # The fields approval wrote, for the record.
    applied = models.JSONField(verbose_name=_("applied"), default=list, blank=True, editable=False)

    class Meta:
        verbose_name = _("change request")
        verbose_name_plural = _("change requests")
        ordering = ["-created", "-id"]
        indexes = [
            # The curators' queue: a body's pending requests, oldest first.
            models.Index(fields=["service_body", "status", "created"], name="change_request_queue"),
        ]

    def __str__(self) -> str:
        # The review queue's first column, the title and the breadcrumbs: in the curator's language.
        what = self.meeting.name if self.meeting_id else gettext("new meeting")
        return gettext("Request %(number)s (%(meeting)s, %(status)s)") % {
            "number": self.pk, "meeting": what, "status": str(self.get_status_display()).lower()}


class DirectoryVersion(models.Model):
    """One row: the version of everything the public read path shows, bumped
    in the same transaction as every write to it (meetings/directory_version.py)."""

    version = models.BigIntegerField(default=0)
    changed_at = models.DateTimeField(default=now)
    # What the meetings' derived fields were last written with from each type
    # and fellowship (keywords.type_text_sources_read; services.type_texts_follow).
    type_text_sources = models.JSONField(default=dict, editable=False)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="directory_version_single_row")]
