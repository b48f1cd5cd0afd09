from django.conf import settings
from django.db import models

from fellowships.querysets import AnnouncedWritesQuerySet


class OpenClosed(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class Fellowship(models.Model):
    """A twelve-step fellowship (AA, NA, Al-Anon...) with its own vocabulary."""

    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    website = models.URLField(blank=True)
    # What a meeting is when none of its types says open or closed. AA and NA
    # leave it unstated; Al-Anon meetings are for families and friends unless
    # they say otherwise.
    default_open_closed = models.CharField(max_length=6, choices=OpenClosed.choices, blank=True)

    # Its queryset writes are announced (pre_queryset_write), as saves are.
    objects = AnnouncedWritesQuerySet.as_manager()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MeetingType(models.Model):
    """One code of one fellowship's vocabulary: `Y` is Young People in AA and Alateen in Al-Anon."""

    class Kind(models.TextChoices):
        FORMAT = "format", "Format"
        FEATURE = "feature", "Feature"
        LANGUAGE = "language", "Language"
        ATTENDANCE = "attendance", "Attendance"

    class Meaning(models.TextChoices):
        """What the code says about a rule the directory applies, if anything."""

        NONE = "", "Nothing special"
        OPEN = "open", "Marks the meeting open"
        CLOSED = "closed", "Marks the meeting closed"
        TEMPORARILY_CLOSED = "temporarily_closed", "Building temporarily closed"

    fellowship = models.ForeignKey(Fellowship, on_delete=models.CASCADE, related_name="types")
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    meaning = models.CharField(max_length=20, choices=Meaning.choices, blank=True)
    # ISO 639-1 code for language types ("es" for AA's legacy `S`).
    language = models.CharField(max_length=8, blank=True)
    # Names in other languages, as the Meeting Guide table carries them.
    translations = models.JSONField(default=dict, blank=True)

    # Its queryset writes are announced (pre_queryset_write), as saves are.
    objects = AnnouncedWritesQuerySet.as_manager()

    class Meta:
        ordering = ["fellowship__slug", "code"]
        constraints = [
            models.UniqueConstraint(fields=["fellowship", "code"], name="meeting_type_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


class ServiceBody(models.Model):
    """Who keeps a list: a central office, an NA area, an Al-Anon district."""

    slug = models.SlugField(max_length=80, unique=True)
    name = models.CharField(max_length=200)
    fellowship = models.ForeignKey(Fellowship, on_delete=models.PROTECT, related_name="service_bodies")
    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True, related_name="children")
    timezone = models.CharField(max_length=64, help_text="Default IANA time zone of its meetings.")
    # Meetings that list no language are held in this one.
    default_language = models.CharField(max_length=8, default="en")
    website = models.URLField(blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=32, blank=True)
    location = models.CharField(max_length=200, blank=True, help_text="Area served, e.g. 'Orange County, California'.")
    # Staff users who keep this body's listings (and its children's) in the
    # admin; meetings/curation.py turns this into what each of them may see.
    curators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="curated_service_bodies",
        help_text="Staff users who curate this body's meetings, locations and feeds, and those of its children.",
    )

    # Its queryset writes are announced (pre_queryset_write), as saves are.
    objects = AnnouncedWritesQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "service bodies"

    def __str__(self) -> str:
        return self.name
