from django.conf import settings
from django.db import models
from django.utils.translation import gettext, gettext_lazy as _

from fellowships.querysets import AnnouncedWritesQuerySet


class OpenClosed(models.TextChoices):
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")


class Fellowship(models.Model):
    """A twelve-step fellowship (AA, NA, Al-Anon...) with its own vocabulary."""

    slug = models.SlugField(verbose_name=_("slug"), max_length=32, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=100)
    website = models.URLField(verbose_name=_("website"), blank=True)
    # What a meeting is when none of its types says open or closed. AA and NA
    # leave it unstated; Al-Anon meetings are for families and friends unless
    # they say otherwise.
    default_open_closed = models.CharField(
        verbose_name=_("default open or closed"), max_length=6, choices=OpenClosed.choices, blank=True,
    )

    # Its queryset writes are announced (pre_queryset_write), as saves are.
    objects = AnnouncedWritesQuerySet.as_manager()

    class Meta:
        verbose_name = _("fellowship")
        verbose_name_plural = _("fellowships")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MeetingType(models.Model):
    """One code of one fellowship's vocabulary: `Y` is Young People in AA and Alateen in Al-Anon."""

    class Kind(models.TextChoices):
        FORMAT = "format", _("Format")
        FEATURE = "feature", _("Feature")
        LANGUAGE = "language", _("Language")
        ATTENDANCE = "attendance", _("Attendance")

    class Meaning(models.TextChoices):
        """What the code says about a rule the directory applies, if anything."""

        NONE = "", _("Nothing special")
        OPEN = "open", _("Marks the meeting open")
        CLOSED = "closed", _("Marks the meeting closed")
        TEMPORARILY_CLOSED = "temporarily_closed", _("Building temporarily closed")
        # Who the meeting is for (men, women, young people, LGBTQ...): two
        # listings that name different audiences are two meetings
        # (meetings/feeds/duplicates.py). What the room offers is not one.
        AUDIENCE = "audience", _("Says who the meeting is for")

    fellowship = models.ForeignKey(
        Fellowship, verbose_name=_("fellowship"), on_delete=models.CASCADE, related_name="types",
    )
    code = models.CharField(verbose_name=_("code"), max_length=16)
    name = models.CharField(verbose_name=_("name"), max_length=100)
    kind = models.CharField(verbose_name=_("kind"), max_length=10, choices=Kind.choices)
    meaning = models.CharField(verbose_name=_("meaning"), max_length=20, choices=Meaning.choices, blank=True)
    # ISO 639-1 code for language types ("es" for AA's legacy `S`).
    language = models.CharField(verbose_name=_("language"), max_length=8, blank=True)
    # Names in other languages, as the Meeting Guide table carries them.
    translations = models.JSONField(verbose_name=_("translations"), default=dict, blank=True)

    # Its queryset writes are announced (pre_queryset_write), as saves are.
    objects = AnnouncedWritesQuerySet.as_manager()

    class Meta:
        verbose_name = _("meeting type")
        verbose_name_plural = _("meeting types")
        ordering = ["fellowship__slug", "code"]
        constraints = [
            models.UniqueConstraint(fields=["fellowship", "code"], name="meeting_type_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.code}: {self.name}"


class ServiceBody(models.Model):
    """Who keeps a list: a central office, an NA area, an Al-Anon district."""

    slug = models.SlugField(verbose_name=_("slug"), max_length=80, unique=True)
    name = models.CharField(verbose_name=_("name"), max_length=200)
    fellowship = models.ForeignKey(
        Fellowship, verbose_name=_("fellowship"), on_delete=models.PROTECT, related_name="service_bodies",
    )
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), on_delete=models.PROTECT, null=True, blank=True, related_name="children",
    )
    timezone = models.CharField(
        verbose_name=_("time zone"), max_length=64, help_text=_("Default IANA time zone of its meetings."),
    )
    # Meetings that list no language are held in this one.
    default_language = models.CharField(verbose_name=_("default language"), max_length=8, default="en")
    website = models.URLField(verbose_name=_("website"), blank=True)
    email = models.EmailField(verbose_name=_("email"), blank=True)
    phone = models.CharField(verbose_name=_("phone"), max_length=32, blank=True)
    location = models.CharField(
        verbose_name=_("location"), max_length=200, blank=True,
        help_text=_("Area served, e.g. 'Orange County, California'."),
    )
    # Staff users who keep this body's listings (and its children's) in the
    # admin; meetings/curation.py turns this into what each of them may see.
    curators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("curators"), blank=True, related_name="curated_service_bodies",
        help_text=_("Staff users who curate this body's meetings, locations and feeds, and those of its children."),
    )

    # Its queryset writes are announced (pre_queryset_write), as saves are.
    objects = AnnouncedWritesQuerySet.as_manager()

    class Meta:
        verbose_name = _("service body")
        verbose_name_plural = _("service bodies")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def service_body_fellowship_problem(*, service_body: ServiceBody, fellowship: Fellowship) -> str:
    """Why `service_body` cannot keep `fellowship`'s listings (a meeting's, a
    feed source's), or "" when it can. One rule for the meeting form, the
    feed source and the import command: a feed of another fellowship than its
    body's would import meetings the body's curator could never save."""
    if service_body.fellowship_id == fellowship.pk:
        return ""
    return gettext("%(body)s keeps %(body_fellowship)s meetings, not %(fellowship)s.") % {
        "body": service_body.name, "body_fellowship": service_body.fellowship.name, "fellowship": fellowship.name}
