"""The types that say who a meeting is for (men, women, young people,
LGBTQ, Alateen...: `MeetingType.Meaning.AUDIENCE`, fellowships/vocabularies.py),
for directories migrated before the meaning existed. Only a type with no
meaning takes it: open, closed and temporarily closed stay what they are.

The meetings carrying these types derive nothing new from them (open/closed,
attendance and the texts read other meanings), so the follow at the end of
`migrate` (`meetings.services.type_texts_follow`) reads them and writes none."""

from django.db import migrations, models


def audience_mark(apps, schema_editor):
    from fellowships.vocabularies import fellowship_entries

    MeetingType = apps.get_model("fellowships", "MeetingType")
    for entry in fellowship_entries():
        codes = [t.code for t in entry.types if t.meaning == "audience"]
        MeetingType.objects.filter(fellowship__slug=entry.slug, code__in=codes, meaning="").update(meaning="audience")


def audience_unmark(apps, schema_editor):
    apps.get_model("fellowships", "MeetingType").objects.filter(meaning="audience").update(meaning="")


class Migration(migrations.Migration):

    dependencies = [
        ("fellowships", "0005_spanish_type_names"),
    ]

    operations = [
        migrations.AlterField(
            model_name="meetingtype",
            name="meaning",
            field=models.CharField(blank=True, choices=[
                ("", "Nothing special"), ("open", "Marks the meeting open"), ("closed", "Marks the meeting closed"),
                ("temporarily_closed", "Building temporarily closed"), ("audience", "Says who the meeting is for"),
            ], max_length=20, verbose_name="meaning"),
        ),
        migrations.RunPython(audience_mark, audience_unmark),
    ]
