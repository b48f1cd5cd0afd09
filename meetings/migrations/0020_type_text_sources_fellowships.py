"""Beside what the stored meetings took from each type, each fellowship's
default open/closed ("fellowship:<id>"), so that a vocabulary's new default,
even one a data migration writes, reaches at the end of `migrate` the
meetings whose types say neither (services.type_texts_follow). The defaults
kept are today's: the stored meetings were derived from them, so nothing is
written anew at this deploy."""

from django.db import migrations

FELLOWSHIP_SOURCE = "fellowship:"  # meetings.keywords.FELLOWSHIP_SOURCE as it was written


def keep_defaults(apps, schema_editor):
    alias = schema_editor.connection.alias
    versions = apps.get_model("meetings", "DirectoryVersion").objects.using(alias)
    kept = versions.filter(pk=1).values_list("type_text_sources", flat=True).first()
    if not kept:
        return
    defaults = apps.get_model("fellowships", "Fellowship").objects.using(alias).values_list("id", "default_open_closed")
    versions.filter(pk=1).update(type_text_sources={
        **kept, **{f"{FELLOWSHIP_SOURCE}{pk}": [default] for pk, default in defaults}})


class Migration(migrations.Migration):
    dependencies = [("meetings", "0019_type_text_sources_meaning")]

    operations = [migrations.RunPython(keep_defaults, migrations.RunPython.noop)]
