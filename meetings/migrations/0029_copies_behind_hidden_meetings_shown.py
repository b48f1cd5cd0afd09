"""A meeting is only ever hidden behind a public one
(meetings.services.duplicates_show_again), but before that rule a copy
could be hidden behind a meeting that was then unpublished, removed or
itself marked a copy, or was never public: the meeting left the directory.
Every such copy is shown again, with a historical row (so the changes feed
tells mirrors it is public again; made by the system, its reason naming
this migration), and the directory's version is bumped so no cached answer
still hides it. A copy hidden behind a meeting still shown stays hidden.

The copies are found by an anti-join on the meeting they point at (an
index lookup each): `NOT IN` a subquery of every public meeting could not
be hashed at a million meetings and rescanned the list for every copy."""

from django.db import migrations
from django.db.models import Exists, F, OuterRef
from django.utils import timezone

from meetings.querysets import PUBLISHED

REASON = "shown again: the meeting it was hidden behind is not public (migration 0029)"


def copies_shown_again(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    History = apps.get_model("meetings", "HistoricalMeeting")
    DirectoryVersion = apps.get_model("meetings", "DirectoryVersion")
    shown = Meeting.objects.filter(PUBLISHED, pk=OuterRef("duplicate_of_id"))
    copies = list(Meeting.objects.filter(duplicate_of__isnull=False).exclude(Exists(shown))
                  .values_list("pk", flat=True))
    if not copies:
        return
    now = timezone.now()
    meeting_fields = {field.attname for field in Meeting._meta.concrete_fields}
    tracked = [field.attname for field in History._meta.concrete_fields
               if field.attname in meeting_fields and not field.name.startswith("history_")]
    for start in range(0, len(copies), 500):
        chunk = copies[start:start + 500]
        Meeting.objects.filter(pk__in=chunk).update(duplicate_of=None)
        codes: dict[int, list[str]] = {pk: [] for pk in chunk}
        for pk, code in Meeting.objects.filter(pk__in=chunk, types__isnull=False).values_list("pk", "types__code"):
            codes[pk].append(code)
        History.objects.bulk_create([
            History(history_date=now, history_type="~", history_change_reason=REASON,
                    type_codes=sorted(codes[meeting.pk]), **{name: getattr(meeting, name) for name in tracked})
            for meeting in Meeting.objects.filter(pk__in=chunk)
        ])
    DirectoryVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=now)


class Migration(migrations.Migration):

    dependencies = [
        ("meetings", "0028_import_run_skipped"),
    ]

    operations = [
        migrations.RunPython(copies_shown_again, migrations.RunPython.noop),
    ]
