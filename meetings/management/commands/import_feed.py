"""`python manage.py import_feed SOURCE [--format ...] [--fellowship SLUG] [--service-body SLUG]`

SOURCE is a feed source's id or slug, a URL, or a file path. A URL or path
is kept as a feed source of its own (so the next import of it updates the
same meetings), which needs --fellowship and --service-body the first time.
Only this command may read a file on the server (a curator's feed source is
an http(s) URL or an upload). Exits non-zero when the run failed, was held
or another run of the source is in progress."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.text import slugify

from fellowships.models import Fellowship, ServiceBody, service_body_fellowship_problem
from meetings.feeds.claims import SourceBusy
from meetings.feeds.fetch import FetchError
from meetings.feeds.formats import PARSERS, guess_format
from meetings.feeds.importer import CURATED_KEPT_NOTE, feed_import
from meetings.models import FeedSource, ImportRun, unused_slug


class Command(BaseCommand):
    help = "Import one meeting feed now and print its counts."

    def add_arguments(self, parser):
        parser.add_argument("source", help="feed source id or slug, a URL, or a file path")
        parser.add_argument("--format", choices=list(PARSERS))
        parser.add_argument("--fellowship", help="fellowship slug (for a URL or file)")
        parser.add_argument("--service-body", dest="service_body", help="service body slug (for a URL or file)")

    def _source(self, options) -> FeedSource:
        given = options["source"]
        found = FeedSource.objects.filter(slug=given).first()
        if found is None and given.isdigit():
            found = FeedSource.objects.filter(pk=int(given)).first()
        if found is not None:
            return found
        is_url = "://" in given
        if not is_url:
            path = Path(given)
            if not path.is_file():
                raise CommandError(f"{given!r} is neither a feed source, a URL nor a readable file")
            given = str(path.resolve())
        existing = FeedSource.objects.filter(url=given).first()
        if existing is not None:
            return existing
        if not options["fellowship"] or not options["service_body"]:
            raise CommandError("a new URL or file needs --fellowship and --service-body")
        try:
            fellowship = Fellowship.objects.get(slug=options["fellowship"])
            service_body = ServiceBody.objects.get(slug=options["service_body"])
        except (Fellowship.DoesNotExist, ServiceBody.DoesNotExist) as error:
            raise CommandError(str(error)) from error
        if problem := service_body_fellowship_problem(service_body=service_body, fellowship=fellowship):
            raise CommandError(f"--service-body {service_body.slug} and --fellowship {fellowship.slug}: {problem}")
        name = given.rsplit("/", 1)[-1] or given
        return FeedSource.objects.create(
            slug=unused_slug(model=FeedSource, base=slugify(f"{service_body.slug}-{name}")[:70] or "feed"),
            name=name[:200], url=given, format=options["format"] or guess_format(given),
            fellowship=fellowship, service_body=service_body, enabled=False,
        )

    def _progress(self, done: int, total: int) -> None:
        width = 30
        filled = width * done // total if total else width
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()

    def handle(self, *args, **options):
        source = self._source(options)
        if options["format"] and options["format"] != source.format:
            source.format = options["format"]
            source.save(update_fields=["format"])
        try:
            # The command line is the one place a feed may be a file on this machine.
            run = feed_import(source_id=source.pk, progress=self._progress, local_file_allowed=True)
        except SourceBusy as error:
            raise CommandError(str(error)) from error
        except FetchError as error:
            raise CommandError(f"fetch failed: {error}") from error
        self.stdout.write(
            f"{source.slug}: {run.status} in {run.duration_seconds or 0:.2f}s - created {run.created}, "
            f"updated {run.updated}, unchanged {run.unchanged}, removed {run.removed}, rejected {run.rejected}, "
            f"skipped {run.skipped}"
        )
        for issue in run.issues.filter(kind="rejected"):
            self.stdout.write(f"  rejected {issue.record_key} [{issue.field}]: {issue.reason}")
        # Records whose meeting is another service body's now.
        for issue in run.issues.filter(kind="skipped"):
            self.stdout.write(f"  skipped {issue.record_key}: {issue.reason}")
        # Meetings that kept a curator's value over a new one from the feed.
        for issue in run.issues.filter(CURATED_KEPT_NOTE):
            self.stdout.write(f"  curated {issue.record_key}: {issue.reason}" if issue.record_key
                              else f"  curated: {issue.reason}")
        if run.issues_left_out:
            self.stdout.write(f"  {run.issues_left_out} more issues counted, not stored")
        if run.unknown_types:
            codes = ", ".join(f"{code} ({count})" for code, count in sorted(run.unknown_types.items()))
            self.stdout.write(f"  unknown types (records using each): {codes}")
        if run.status != ImportRun.Status.SUCCEEDED:
            raise CommandError(f"run {run.status}: {run.reason}")
