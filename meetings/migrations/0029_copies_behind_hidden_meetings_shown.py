"""A meeting is only ever hidden behind a public one
(meetings.services.duplicates_show_again), but before that rule a copy
could be hidden behind a meeting that was then unpublished, removed or
itself marked a copy, or was never public: the meeting left the directory.
Every such copy is shown again, and the directory's version bumped so no
cached answer still hides it. A copy hidden behind a meeting still shown
stays hidden. (A migration records no history row: this docstring says what
it did.)"""

from django.db import migrations
from django.db.models import F
from django.utils import timezone

from meetings.querysets import PUBLISHED


def copies_shown_again(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    DirectoryVersion = apps.get_model("meetings", "DirectoryVersion")
    shown = Meeting.objects.filter(PUBLISHED).values("pk")
    if Meeting.objects.filter(duplicate_of__isnull=False).exclude(duplicate_of__in=shown).update(duplicate_of=None):
        DirectoryVersion.objects.filter(pk=1).update(version=F("version") + 1, changed_at=timezone.now())


class Migration(migrations.Migration):

    dependencies = [
        ("meetings", "0028_import_run_skipped"),
    ]

    operations = [
        migrations.RunPython(copies_shown_again, migrations.RunPython.noop),
    ]
