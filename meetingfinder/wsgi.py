import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
application = get_wsgi_application()

# What the geocoder needs is read as the server loads the app, before it
# listens (runserver) or forks its workers (gunicorn, preload_app): no one's
# first search waits for it.
from meetings.geocoding import ready  # noqa: E402 - needs the app loaded above

ready()

# What is loaded now lives as long as the process: set aside from the garbage
# collector, whose full passes (and the one at exit) would otherwise walk its
# two million objects each time (about a second of CPU for each worker that
# quits) and write to the pages gunicorn's forked workers share.
import gc  # noqa: E402

gc.freeze()
