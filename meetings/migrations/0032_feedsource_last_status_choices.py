"""A feed source's last status read as its runs' are (Succeeded, in the
curator's language), not as the stored word "succeeded": the choices of
ImportRun.status. Labels only; the column is unchanged."""

import meetingfinder.migration_operations
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [("meetings", "0031_location_city_upper")]

    operations = [
        meetingfinder.migration_operations.AlterFieldLabels(
            model_name="feedsource",
            fields=[("last_status", models.CharField(blank=True, choices=[
                ("running", "Running"), ("succeeded", "Succeeded"), ("held", "Held for approval"),
                ("failed", "Failed")], max_length=10, verbose_name="last status"))],
        ),
    ]
