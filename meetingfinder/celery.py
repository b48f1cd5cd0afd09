import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")

app = Celery("meetingfinder")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
