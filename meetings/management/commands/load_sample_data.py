"""`python manage.py load_sample_data [--path FILE]`: load the invented Orange
County directory into the configured database; safe to run again."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from meetings.sample_data import DEFAULT_PATH, SampleDataError, sample_data_load


class Command(BaseCommand):
    help = "Load the sample Orange County meetings (idempotent: a second run changes nothing)."

    def add_arguments(self, parser):
        parser.add_argument("--path", type=Path, default=DEFAULT_PATH,
                            help=f"Sample data JSON file (default: {DEFAULT_PATH.name} in fixtures/).")

    def handle(self, *args, path: Path, **options):
        started = time.perf_counter()
        try:
            report = sample_data_load(path=path)
        except SampleDataError as error:
            raise CommandError(f"Nothing was loaded: {error}") from error
        seconds = time.perf_counter() - started
        self.stdout.write(f"Loaded {report.path} in {seconds:.1f} s")
        self.stdout.write(f"{'':16}{'created':>9}{'updated':>9}{'unchanged':>11}")
        for label, tally in report.tallies().items():
            self.stdout.write(f"{label:16}{tally.created:>9}{tally.updated:>9}{tally.unchanged:>11}")
        for label, tally in report.tallies().items():
            if tally.kept:
                self.stdout.write(f"{label}: {tally.kept} kept as changed (they differ from the file; "
                                  f"the sample never overwrites what a person changed).")
        if report.meetings_not_in_file:
            self.stdout.write(f"{report.meetings_not_in_file} sample meetings no longer in the file were left as is.")
        if report.written == 0:
            self.stdout.write(self.style.SUCCESS("Already up to date: nothing written."))
        else:
            self.stdout.write(self.style.SUCCESS(f"{report.written} rows written."))
