"""A search by language as a condition on the meeting's row
(meetings/keywords.py), as type codes are since 0015: it was two subqueries
run for every meeting tried (a type of one of the languages asked for; no
language type at all, then its service body's language), "list,
language=es" ~38 ms at 100,000 meetings (bench/README.md, round 19). Now the
languages a meeting is held in (those its types name, or its service
body's) are the words of one derived column.

This adds the column and fills it for the meetings already stored (a page
of ids at a time), in one transaction; migration 0018 indexes it."""

from django.db import migrations, models

from meetings.keywords import word_text

PAGE = 5000


def fill(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    alias = schema_editor.connection.alias
    last = 0
    while True:
        defaults = dict(Meeting.objects.using(alias).filter(pk__gt=last).order_by("pk").values_list(
            "pk", "service_body__default_language")[:PAGE])
        if not defaults:
            return
        last = max(defaults)
        languages: dict[int, list[str]] = {}
        for meeting_id, language in Meeting.types.through.objects.using(alias).filter(
                meeting_id__in=list(defaults), meetingtype__kind="language").values_list(
                "meeting_id", "meetingtype__language"):
            languages.setdefault(meeting_id, []).append(language)
        with schema_editor.connection.cursor() as cursor:
            cursor.executemany("UPDATE meetings_meeting SET language_text = %s WHERE id = %s", [
                (word_text(languages.get(pk) or [default]), pk) for pk, default in defaults.items()])


class Migration(migrations.Migration):
    dependencies = [("meetings", "0016_type_code_text_trigram_index")]

    operations = [
        migrations.AddField(
            model_name="meeting",
            name="language_text",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="languages"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
