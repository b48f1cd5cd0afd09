"""The vocabularies' search names the stored search texts were written with,
kept beside the directory's version: `migrate` compares them with the
vocabularies' names at its end (services.search_names_follow), so a data
migration that renames or translates a type (historical models send no
signal the meetings app hears) reaches the meetings that carry it."""

from django.db import migrations, models

from meetings.keywords import type_search_names


def keep(apps, schema_editor):
    # The search texts were written with these (migration 0012 and since).
    names = type_search_names(apps.get_model("fellowships", "MeetingType").objects.values_list(
        "id", "name", "translations"))
    apps.get_model("meetings", "DirectoryVersion").objects.using(schema_editor.connection.alias).filter(pk=1).update(
        search_names={str(pk): text for pk, text in names.items()})


class Migration(migrations.Migration):
    dependencies = [("meetings", "0013_search_text_trigram_index")]

    operations = [
        migrations.AddField(model_name="directoryversion", name="search_names",
                            field=models.JSONField(default=dict, editable=False)),
        migrations.RunPython(keep, migrations.RunPython.noop),
    ]
