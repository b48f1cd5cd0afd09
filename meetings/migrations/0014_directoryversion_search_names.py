"""What the stored meetings' derived texts took from each type (its search
names; since 0017 also the language it names), kept beside the directory's
version: `migrate` compares it with the vocabularies at its end
(services.type_texts_follow), so a data migration that renames or
translates a type (historical models send no signal the meetings app
hears) reaches the meetings that carry it."""

from django.db import migrations, models

from meetings.keywords import type_text_sources


def keep(apps, schema_editor):
    # The search texts were written with these (migration 0012 and since).
    sources = type_text_sources(apps.get_model("fellowships", "MeetingType").objects.values_list(
        "id", "name", "translations", "kind", "language"))
    apps.get_model("meetings", "DirectoryVersion").objects.using(schema_editor.connection.alias).filter(pk=1).update(
        search_names=sources)


class Migration(migrations.Migration):
    dependencies = [("meetings", "0013_search_text_trigram_index")]

    operations = [
        migrations.AddField(model_name="directoryversion", name="search_names",
                            field=models.JSONField(default=dict, editable=False)),
        migrations.RunPython(keep, migrations.RunPython.noop),
    ]
