"""Keyword search through one folded text per meeting (meetings/keywords.py).

Migration 0011 indexed a meeting's text and its venue's apart, so a word
without a place became `id IN (meetings having it) OR location IN (venues
having it)`: every match gathered before the page. Fast for a rare word, but a
word in most meetings ("the") went from ~25 to ~135 ms at 100,000 meetings,
growing with the directory, and the planner could not choose otherwise
(bench/README.md, rounds 15 and 17). Now the meeting's text, its venue's and
its types' names are one derived column with one trigram index, and a word is
one condition on the meeting row that PostgreSQL answers by the index or by
reading in weekday order, whichever its statistics make cheaper.

This adds the column and fills it for the meetings already stored (a page
of ids at a time), in one transaction; migration 0013 indexes it.
"""

from django.db import migrations, models

from meetings.keywords import search_text, type_search_names

PAGE = 2000


def fill(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    Location = apps.get_model("meetings", "Location")
    MeetingType = apps.get_model("fellowships", "MeetingType")
    Through = Meeting.types.through
    names = type_search_names(MeetingType.objects.values_list("id", "name", "translations"))
    alias = schema_editor.connection.alias
    last = 0
    while True:
        rows = list(Meeting.objects.using(alias).filter(pk__gt=last).order_by("pk")
                    .values("pk", "name", "group", "notes", "location_id")[:PAGE])
        if not rows:
            return
        last = rows[-1]["pk"]
        ids = [row["pk"] for row in rows]
        venues = Location.objects.using(alias).in_bulk({row["location_id"] for row in rows if row["location_id"]})
        types: dict[int, list[int]] = {}
        for meeting_id, type_id in Through.objects.using(alias).filter(meeting_id__in=ids).values_list(
                "meeting_id", "meetingtype_id"):
            types.setdefault(meeting_id, []).append(type_id)
        with schema_editor.connection.cursor() as cursor:
            cursor.executemany("UPDATE meetings_meeting SET search_text = %s WHERE id = %s", [
                (search_text(meeting=row, location=venues.get(row["location_id"]), type_ids=types.get(row["pk"], ()),
                             names=names), row["pk"])
                for row in rows])


class Migration(migrations.Migration):
    dependencies = [
        ("meetings", "0011_keyword_trigram_indexes"),
        ("fellowships", "0005_spanish_type_names"),
    ]

    operations = [
        migrations.AddField(
            model_name="meeting",
            name="search_text",
            field=models.TextField(blank=True, default="", editable=False, verbose_name="search text"),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
