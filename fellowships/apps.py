from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class FellowshipsConfig(AppConfig):
    name = "fellowships"
    verbose_name = gettext_lazy("Fellowships")  # the admin's heading, in the curator's language
    default_auto_field = "django.db.models.BigAutoField"
