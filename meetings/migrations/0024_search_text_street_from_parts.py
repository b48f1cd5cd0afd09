"""A venue's street in the search text of meetings whose feed sent only the
address's parts (address, city, state, postal code) and no formatted
address: their text held the venue's name and city, not its street, so
`q=Calle` did not find "2 Calle Ñandú". The search text now reads the address
as people read it (models.address_as_read); this derives it anew for the
meetings stored at such a venue (the others' text is unchanged), a page of
ids at a time, writing only what changed.
"""

from django.db import migrations

from meetings.keywords import search_text, type_search_names

PAGE = 2000


def fill(apps, schema_editor):
    Meeting = apps.get_model("meetings", "Meeting")
    Location = apps.get_model("meetings", "Location")
    MeetingType = apps.get_model("fellowships", "MeetingType")
    Through = Meeting.types.through
    alias = schema_editor.connection.alias
    names = type_search_names(MeetingType.objects.using(alias).values_list("id", "name", "translations"))
    in_parts = Meeting.objects.using(alias).filter(location__isnull=False, location__formatted_address="")
    last = 0
    while True:
        rows = list(in_parts.filter(pk__gt=last).order_by("pk")
                    .values("pk", "name", "group", "notes", "location_id", "search_text")[:PAGE])
        if not rows:
            return
        last = rows[-1]["pk"]
        ids = [row["pk"] for row in rows]
        venues = Location.objects.using(alias).in_bulk({row["location_id"] for row in rows})
        types: dict[int, list[int]] = {}
        for meeting_id, type_id in Through.objects.using(alias).filter(meeting_id__in=ids).values_list(
                "meeting_id", "meetingtype_id"):
            types.setdefault(meeting_id, []).append(type_id)
        changed = []
        for row in rows:
            text = search_text(meeting=row, location=venues[row["location_id"]], type_ids=types.get(row["pk"], ()),
                               names=names)
            if text != row["search_text"]:
                changed.append((text, row["pk"]))
        if changed:
            with schema_editor.connection.cursor() as cursor:
                cursor.executemany("UPDATE meetings_meeting SET search_text = %s WHERE id = %s", changed)


class Migration(migrations.Migration):
    dependencies = [("meetings", "0023_day_without_time_by_appointment"), ("fellowships", "0005_spanish_type_names")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
