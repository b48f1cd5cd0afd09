from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = gettext_lazy("Meetings")  # the admin's heading, in the curator's language
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from meetings.geo import register_sqlite_functions

        # SQLite has no great-circle function; give it ours so geo search is
        # one query on both backends.
        connection_created.connect(register_sqlite_functions, dispatch_uid="meetings.geo.sqlite")

        from simple_history.signals import pre_create_historical_record

        from meetings.history import on_pre_create_historical_record

        # Each historical row says what made the change and, for a meeting, its types.
        pre_create_historical_record.connect(on_pre_create_historical_record, dispatch_uid="meetings.history")

        from django.db.models.signals import post_migrate, post_save, pre_save

        from fellowships.models import Fellowship, MeetingType, ServiceBody
        from meetings.services import (FOLLOWED_DEFAULTS, default_saving, fellowship_saved, meeting_type_saved,
                                       meetings_migrated, service_body_saved)

        # A meeting's search text names its types: a vocabulary's new names
        # reach it, whether saved or written by a data migration.
        post_save.connect(meeting_type_saved, sender=MeetingType, dispatch_uid="meetings.services.type_saved")
        post_migrate.connect(meetings_migrated, sender=self, dispatch_uid="meetings.services.migrated")
        # A meeting whose types name no language is held in its service body's;
        # one whose types say neither open nor closed is its fellowship's default.
        for model, _ in FOLLOWED_DEFAULTS:
            pre_save.connect(default_saving, sender=model, dispatch_uid=f"meetings.services.saving.{model.__name__}")
        post_save.connect(service_body_saved, sender=ServiceBody, dispatch_uid="meetings.services.body_saved")
        post_save.connect(fellowship_saved, sender=Fellowship, dispatch_uid="meetings.services.fellowship_saved")

        from meetings.directory_version import connect_signals

        # Every write to what readers see bumps the directory version (cached answers, ETags).
        connect_signals()
