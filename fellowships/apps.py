from django.apps import AppConfig


class FellowshipsConfig(AppConfig):
    name = "fellowships"
    default_auto_field = "django.db.models.BigAutoField"
