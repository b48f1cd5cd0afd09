"""Deletes keep what the public sees, and what history says: a feed source
with meetings and a region with places are refused (PROTECT), where the
database emptied the meetings' source and the places' region unrecorded; a
deleted import run or change request stays named on the history it made.
No SQL: Django applies `on_delete` itself."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('meetings', '0032_feedsource_last_status_choices'),
    ]

    operations = [
        migrations.AlterField(
            model_name='historicallocation',
            name='change_request',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='meetings.changerequest'),
        ),
        migrations.AlterField(
            model_name='historicallocation',
            name='import_run',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='meetings.importrun'),
        ),
        migrations.AlterField(
            model_name='historicalmeeting',
            name='change_request',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='meetings.changerequest'),
        ),
        migrations.AlterField(
            model_name='historicalmeeting',
            name='import_run',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='meetings.importrun'),
        ),
        migrations.AlterField(
            model_name='location',
            name='region',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='locations', to='meetings.region', verbose_name='region'),
        ),
        migrations.AlterField(
            model_name='meeting',
            name='feed_source',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='meetings', to='meetings.feedsource', verbose_name='feed source'),
        ),
    ]
