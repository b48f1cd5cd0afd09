"""NA's and Al-Anon's type names in Spanish (fellowships/vocabularies.py
NA_SPANISH, AL_ANON_SPANISH) for directories migrated before they existed.
Only a language a type has no name in is added: a name already there stays."""

from django.db import migrations


def translations_fill(apps, schema_editor):
    from fellowships.vocabularies import fellowship_entries

    MeetingType = apps.get_model("fellowships", "MeetingType")
    for entry in fellowship_entries():
        given = {t.code: t.translations for t in entry.types if t.translations}
        for meeting_type in MeetingType.objects.filter(fellowship__slug=entry.slug, code__in=given):
            translations = dict(meeting_type.translations or {})
            missing = {language: name for language, name in given[meeting_type.code].items()
                       if not translations.get(language)}
            if missing:
                meeting_type.translations = {**translations, **missing}
                meeting_type.save(update_fields=["translations"])


class Migration(migrations.Migration):

    dependencies = [
        ("fellowships", "0004_translatable_labels"),
    ]

    # Reversing keeps the names: a curator may rely on them by then.
    operations = [
        migrations.RunPython(translations_fill, migrations.RunPython.noop),
    ]
