"""What the stored meetings took from each type (`DirectoryVersion.type_text_sources`)
holds the type's meaning too, so a vocabulary's changed meaning reaches the
open/closed and attendance of its meetings at the end of `migrate`
(services.type_texts_follow). The meanings kept are today's: the stored
meetings were derived from them, so nothing is written anew at this deploy."""

from django.db import migrations


def keep_meanings(apps, schema_editor):
    alias = schema_editor.connection.alias
    versions = apps.get_model("meetings", "DirectoryVersion").objects.using(alias)
    kept = versions.filter(pk=1).values_list("type_text_sources", flat=True).first()
    if not kept:
        return
    meanings = {str(pk): meaning for pk, meaning in
                apps.get_model("fellowships", "MeetingType").objects.using(alias).values_list("id", "meaning")}
    versions.filter(pk=1).update(type_text_sources={
        pk: [*source[:2], meanings[pk]] for pk, source in kept.items() if pk in meanings})


class Migration(migrations.Migration):
    dependencies = [("meetings", "0018_directoryversion_type_text_sources"), ("fellowships", "0005_spanish_type_names")]

    operations = [migrations.RunPython(keep_meanings, migrations.RunPython.noop)]
