"""A curator's word that two meetings taken for one listed twice are two
(`Meeting.not_copy_of`, symmetrical): imports never hide either behind the
other again (meetings/feeds/duplicates.py)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('meetings', '0029_copies_behind_hidden_meetings_shown'),
    ]

    operations = [
        migrations.AddField(
            model_name='meeting',
            name='not_copy_of',
            field=models.ManyToManyField(blank=True, help_text='Meetings a curator said are other meetings, not the same one listed twice.', to='meetings.meeting', verbose_name='not a copy of'),
        ),
    ]
