import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
application = get_wsgi_application()

# What the geocoder needs is read as the server loads the app, before it
# listens (runserver) or forks its workers (gunicorn, preload_app): no one's
# first search waits for it.
from meetings.geocoding import ready  # noqa: E402 - needs the app loaded above

ready()
