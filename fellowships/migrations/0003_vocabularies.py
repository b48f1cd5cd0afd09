"""AA, NA and Al-Anon with their type vocabularies in every database, so a
freshly migrated directory can import its first feed without the sample data."""

from django.db import migrations


def vocabularies_fill(apps, schema_editor):
    from fellowships.services import vocabularies_sync

    vocabularies_sync(
        fellowship_model=apps.get_model("fellowships", "Fellowship"),
        type_model=apps.get_model("fellowships", "MeetingType"),
    )


class Migration(migrations.Migration):

    dependencies = [
        ("fellowships", "0002_servicebody_curators"),
    ]

    # Reversing keeps the rows: meetings may already point at them.
    operations = [
        migrations.RunPython(vocabularies_fill, migrations.RunPython.noop),
    ]
