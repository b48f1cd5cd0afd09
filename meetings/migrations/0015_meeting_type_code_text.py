"""A search by type codes as a condition on the meeting's row
(meetings/keywords.py). Each code asked for was a subquery run for every
meeting tried, which reads the meeting's type rows: "list, aa, type=W,B"
tried every AA meeting and took ~200 ms at 100,000 meetings (bench/README.md,
round 18). Now a meeting's codes are the words of one derived column.

This adds the column and fills it for the meetings already stored (a page
of ids at a time), in one transaction; migration 0016 indexes it."""

from django.db import migrations, models

from meetings.keywords import word_text

PAGE = 5000


def fill_pages(apps, schema_editor, column: str, texts_of) -> None:
    """Fill `column` of the stored meetings a page of ids at a time:
    `texts_of(Meeting, alias, ids)` gives {id: text} (a meeting it leaves out
    keeps the empty default)."""
    Meeting = apps.get_model("meetings", "Meeting")
    alias = schema_editor.connection.alias
    last = 0
    while True:
        ids = list(Meeting.objects.using(alias).filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:PAGE])
        if not ids:
            return
        last = ids[-1]
        texts = texts_of(Meeting, alias, ids)
        with schema_editor.connection.cursor() as cursor:
            cursor.executemany(f"UPDATE meetings_meeting SET {column} = %s WHERE id = %s",
                               [(text, pk) for pk, text in texts.items()])


def codes_of(Meeting, alias: str, ids: list[int]) -> dict[int, str]:
    codes: dict[int, list[str]] = {}
    for meeting_id, code in Meeting.types.through.objects.using(alias).filter(meeting_id__in=ids).values_list(
            "meeting_id", "meetingtype__code"):
        codes.setdefault(meeting_id, []).append(code)
    return {pk: word_text(found) for pk, found in codes.items()}


def fill(apps, schema_editor):
    fill_pages(apps, schema_editor, "type_code_text", codes_of)


class Migration(migrations.Migration):
    dependencies = [("meetings", "0014_directoryversion_search_names")]

    operations = [
        migrations.AddField(
            model_name="meeting",
            name="type_code_text",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="type codes"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
