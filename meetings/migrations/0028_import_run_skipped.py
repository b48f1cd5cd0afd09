"""An import run counts the records it left alone, and names each as a
"skipped" issue: records whose meeting a person moved to a service body the
feed source's does not keep (meetings.curation.feed_source_body_ids)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('meetings', '0027_curators_moves_locked'),
    ]

    operations = [
        migrations.AddField(
            model_name='importrun',
            name='skipped',
            field=models.PositiveIntegerField(default=0, verbose_name='skipped'),
        ),
        migrations.AlterField(
            model_name='importissue',
            name='kind',
            field=models.CharField(choices=[('rejected', 'Rejected'), ('repaired', 'Repaired'), ('skipped', 'Skipped')], max_length=10, verbose_name='kind'),
        ),
    ]
