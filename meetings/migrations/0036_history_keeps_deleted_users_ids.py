"""History keeps the id of the user who made a change as a plain column, so
deleting an account no longer sets its changes to nobody. The column
(history_user_id) and its index stay with their rows; only the foreign key's
constraint goes."""

from django.conf import settings
from django.db import migrations, models


def _without_constraint(model_name: str) -> migrations.AlterField:
    return migrations.AlterField(
        model_name=model_name, name="history_user",
        field=models.ForeignKey(null=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False,
                                to=settings.AUTH_USER_MODEL),
    )


def _as_an_id(model_name: str) -> list:
    return [
        migrations.RemoveField(model_name=model_name, name="history_user"),
        migrations.AddField(model_name=model_name, name="history_user_id",
                            field=models.IntegerField(blank=True, db_index=True, null=True)),
    ]


class Migration(migrations.Migration):

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("meetings", "0035_meeting_tz_day_time_end"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[_without_constraint("historicallocation"), _without_constraint("historicalmeeting")],
            state_operations=[*_as_an_id("historicallocation"), *_as_an_id("historicalmeeting")],
        ),
    ]
