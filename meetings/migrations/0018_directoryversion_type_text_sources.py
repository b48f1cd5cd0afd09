"""The column that keeps what the meetings' derived texts took from each type
(migration 0014) is named for what it holds since 0017: the type's search
names and the language it names (`keywords.type_text_sources`)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("meetings", "0017_meeting_language_text")]

    operations = [
        migrations.RenameField(model_name="directoryversion", old_name="search_names", new_name="type_text_sources"),
    ]
