"""Who may curate what (README.md, "Curators"): a curator belongs to service
bodies (`ServiceBody.curators`) and keeps their listings and those of every
body below them; a superuser keeps everything. Every admin list, form
choice, autocomplete and action goes through these selectors
(meetings/admin_scope.py), so one rule decides everywhere.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet

from fellowships.models import Fellowship, ServiceBody
from meetings.models import ChangeRequest, FeedSource, ImportRun, Location, Meeting, Region
from meetings.querysets import PUBLISHED
from meetings.schedule import is_valid_zone
from meetings.selectors import tree_ids

CURATORS_GROUP = "Curators"
# (app label, model, actions) a curator needs; deleting is left to superusers
# (a meeting that stopped is unpublished, which keeps its history and slug).
CURATOR_PERMISSIONS = (
    ("meetings", "meeting", ("view", "add", "change")),
    ("meetings", "location", ("view", "add", "change")),
    ("meetings", "region", ("view", "add", "change")),
    ("meetings", "feedsource", ("view", "add", "change")),
    ("meetings", "importrun", ("view", "change")),
    ("meetings", "importissue", ("view",)),
    ("meetings", "changerequest", ("view", "change")),
    ("fellowships", "servicebody", ("view",)),
    ("fellowships", "fellowship", ("view",)),
    ("fellowships", "meetingtype", ("view",)),
)
_CACHE_ATTRIBUTE = "_curated_body_ids"


def service_body_tree_ids(*, root_ids) -> frozenset[int]:
    """The given bodies and every body below them."""
    return frozenset(tree_ids(ServiceBody, root_ids=root_ids))


def _can_curate(*, user) -> bool:
    """Signed in with an active account: anyone else curates nothing."""
    return user is not None and user.is_authenticated and user.is_active


def curated_body_ids(*, user) -> frozenset[int] | None:
    """Ids of the service bodies `user` curates, children included; None
    means every body (a superuser). Cached on the user object, which lives
    for one request."""
    if not _can_curate(user=user):
        return frozenset()
    if user.is_superuser:
        return None
    cached = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    result = service_body_tree_ids(root_ids=ServiceBody.objects.filter(curators=user).values_list("id", flat=True))
    setattr(user, _CACHE_ATTRIBUTE, result)
    return result


def curator_time_zone(*, user) -> str:
    """The zone `user` reads the admin's dates and times in: that of the
    service bodies they curate when they share one, else the site's
    (MEETINGS_PAGE_TIME_ZONE): bodies of several zones, or every body."""
    ids = curated_body_ids(user=user)
    if ids:
        zones = list(ServiceBody.objects.filter(pk__in=ids).order_by().values_list("timezone", flat=True).distinct()[:2])
        if len(zones) == 1 and is_valid_zone(zones[0]):
            return zones[0]
    return settings.MEETINGS_PAGE_TIME_ZONE


def _in_curated_bodies(model, body_path: str, *, user, queryset: QuerySet | None) -> QuerySet:
    """Rows of `model` whose service body (at `body_path`) `user` curates."""
    queryset = model.objects.all() if queryset is None else queryset
    ids = curated_body_ids(user=user)
    return queryset if ids is None else queryset.filter(**{f"{body_path}__in": ids})


def service_bodies_curated_by(*, user, queryset: QuerySet[ServiceBody] | None = None) -> QuerySet[ServiceBody]:
    return _in_curated_bodies(ServiceBody, "pk", user=user, queryset=queryset)


def fellowships_curated_by(*, user, queryset: QuerySet[Fellowship] | None = None) -> QuerySet[Fellowship]:
    """The fellowships of the service bodies `user` curates: a meeting of
    theirs can be of no other (its body's fellowship)."""
    return _in_curated_bodies(Fellowship, "service_bodies", user=user, queryset=queryset).distinct()


def meetings_curated_by(*, user, queryset: QuerySet[Meeting] | None = None) -> QuerySet[Meeting]:
    return _in_curated_bodies(Meeting, "service_body_id", user=user, queryset=queryset)


def meetings_seen_by(*, user, queryset: QuerySet[Meeting] | None = None) -> QuerySet[Meeting]:
    """Of `queryset`, the meetings `user` may see named beside one of theirs:
    those they curate, and those the public sees (`PUBLISHED`)."""
    queryset = Meeting.objects.all() if queryset is None else queryset
    ids = curated_body_ids(user=user)
    return queryset if ids is None else queryset.filter(Q(service_body_id__in=ids) | PUBLISHED)


def locations_curated_by(*, user, queryset: QuerySet[Location] | None = None) -> QuerySet[Location]:
    """The locations their bodies' meetings use, and those they added (a new
    hall is made before its meeting); a hall shared with another body's
    meetings is both bodies' curators': it is one building."""
    queryset = Location.objects.all() if queryset is None else queryset
    if not _can_curate(user=user):
        # Not only "no bodies": an anonymous user's id is None, and
        # created_by=None would be every location nobody made (all imported ones).
        return queryset.none()
    ids = curated_body_ids(user=user)
    if ids is None:
        return queryset
    # Exists rather than a join: no duplicate rows, no DISTINCT for the admin's ordering.
    used_by_their_meetings = Exists(Meeting.objects.filter(location_id=OuterRef("pk"), service_body_id__in=ids))
    return queryset.filter(used_by_their_meetings | Q(created_by_id=user.pk))


def region_is_theirs(*, user, region: Region) -> bool:
    """Regions are names every body shares: a curator changes one only when
    no location of another body's is in it or below it (their own halls and
    halls they added; a shared hall counts as theirs, as in the location's
    own scope). Any curator may add one."""
    if not _can_curate(user=user):
        return False
    if curated_body_ids(user=user) is None:
        return True
    in_or_below = Location.objects.filter(region_id__in=tree_ids(Region, root_ids=[region.pk]))
    return not in_or_below.exclude(pk__in=locations_curated_by(user=user).values("pk")).exists()


def revert_leaves_scope(*, user, changes: dict[str, dict]) -> list[str]:
    """The fields a revert (`history.revert_changes`) would set to a service
    body or location that `user` does not curate: a curator cannot move a
    meeting out of their bodies, by a form or by reverting a superuser's move."""
    ids = curated_body_ids(user=user)
    if ids is None:
        return []
    outside = []
    if "service_body" in changes and changes["service_body"]["restored"] not in ids:
        outside.append("service_body")
    location = changes.get("location", {}).get("restored")
    if location is not None and not locations_curated_by(user=user).filter(pk=location).exists():
        outside.append("location")
    return outside


def feed_sources_curated_by(*, user, queryset: QuerySet[FeedSource] | None = None) -> QuerySet[FeedSource]:
    return _in_curated_bodies(FeedSource, "service_body_id", user=user, queryset=queryset)


def feed_source_body_ids(*, source: FeedSource) -> frozenset[int]:
    """The service bodies whose meetings `source`'s imports may write or
    remove: its body and every body below it, what each of its curators
    keeps. A meeting a person moved to another body is that body's now."""
    return service_body_tree_ids(root_ids=[source.service_body_id])


def feed_source_listings(*, source: FeedSource) -> QuerySet[Meeting]:
    """The meetings `source` imported that are still its to write: those in
    its body or below it (`feed_source_body_ids`). One a person moved to
    another body is that body's, and its feed leaves it alone."""
    return Meeting.objects.filter(source=source.meeting_source,
                                  service_body_id__in=feed_source_body_ids(source=source))


def import_runs_curated_by(*, user, queryset: QuerySet[ImportRun] | None = None) -> QuerySet[ImportRun]:
    return _in_curated_bodies(ImportRun, "source__service_body_id", user=user, queryset=queryset)


def change_requests_curated_by(*, user, queryset: QuerySet[ChangeRequest] | None = None) -> QuerySet[ChangeRequest]:
    """A correction belongs to whoever keeps its meeting now: the body stored
    on the request is where the meeting was when it was sent, and a superuser
    may have moved the meeting since. A new-meeting request has only that body."""
    queryset = ChangeRequest.objects.all() if queryset is None else queryset
    ids = curated_body_ids(user=user)
    if ids is None:
        return queryset
    return queryset.filter(Q(meeting__isnull=False, meeting__service_body_id__in=ids)
                           | Q(meeting__isnull=True, service_body_id__in=ids))


def change_request_is_theirs(*, user, change_request: ChangeRequest) -> bool:
    """Whether `user` may decide `change_request` as things stand now."""
    return change_requests_curated_by(user=user, queryset=ChangeRequest.objects.filter(pk=change_request.pk)).exists()


@transaction.atomic
def curators_group_sync() -> Group:
    """The "Curators" group with exactly the permissions a curator needs."""
    group, _ = Group.objects.get_or_create(name=CURATORS_GROUP)
    wanted = Q(pk__in=[])
    for app_label, model, actions in CURATOR_PERMISSIONS:
        wanted |= Q(content_type__app_label=app_label, content_type__model=model,
                    codename__in=[f"{action}_{model}" for action in actions])
    group.permissions.set(Permission.objects.filter(wanted))
    return group


@transaction.atomic
def curator_assign(*, user, service_bodies: list[ServiceBody], replace: bool = False):
    """Make `user` a curator of `service_bodies` (and their children): staff,
    in the Curators group. `replace` drops bodies not named."""
    group = curators_group_sync()
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.groups.add(group)
    if replace:
        user.curated_service_bodies.set(service_bodies)
    else:
        user.curated_service_bodies.add(*service_bodies)
    user.__dict__.pop(_CACHE_ATTRIBUTE, None)
    return user
