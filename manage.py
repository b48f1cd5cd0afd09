#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
    # The command line is the embedded default: with nothing set it runs with
    # DEBUG on, as `make run` does. What serves the public (gunicorn through
    # meetingfinder/wsgi.py, Celery) keeps DEBUG off unless told otherwise and
    # refuses to start without a strong key; production sets DJANGO_DEBUG=false
    # for its commands too (docker-compose.yml, the Dockerfile,
    # deploy/production.env.example).
    os.environ.setdefault("DJANGO_DEBUG", "true")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
