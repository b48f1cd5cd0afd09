"""A search by language as a condition on the meeting's row
(meetings/keywords.py), as type codes are since 0015: it was two subqueries
run for every meeting tried (a type of one of the languages asked for; no
language type at all, then its service body's language), "list,
language=es" ~38 ms at 100,000 meetings (bench/README.md, round 19). Now the
languages a meeting is held in (those its types name, or its service
body's) are the words of one derived column.

This adds the column and fills it for the meetings already stored (a page
of ids at a time, as 0015 does), in one transaction. No index: one on it
changed nothing measured."""

from importlib import import_module

from django.db import migrations, models

from meetings.keywords import language_named, meeting_languages

previous = import_module("meetings.migrations.0015_meeting_type_code_text")


def languages_of(Meeting, alias: str, ids: list[int]) -> dict[int, str]:
    named: dict[int, list[str]] = {}
    for meeting_id, kind, language in Meeting.types.through.objects.using(alias).filter(
            meeting_id__in=ids).values_list("meeting_id", "meetingtype__kind", "meetingtype__language"):
        named.setdefault(meeting_id, []).append(language_named(kind, language))
    return {pk: meeting_languages(named.get(pk, ()), default) for pk, default in Meeting.objects.using(alias).filter(
        pk__in=ids).values_list("pk", "service_body__default_language")}


def fill(apps, schema_editor):
    previous.fill_pages(apps, schema_editor, "language_text", languages_of)


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
