"""Load one benchmark database: the generated directory of
`fixtures/directory.py` (its generator and bulk loader), recorded in
META_TABLE so that `bench/run.py` reuses a database loaded by the same
generator version, size and seed."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures.directory import DEFAULT_SEED, GENERATOR_VERSION, directory_load  # noqa: E402

META_TABLE = "bench_directory_meta"


def main(argv: list[str] | None = None) -> None:
    """`DATABASE_URL=... python bench/directory.py --size N [--seed S]`: bulk-load a
    migrated, empty database and record what was loaded in META_TABLE."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "meetingfinder.settings")
    # DEBUG is off, as in production, so Django needs a key: a throwaway one.
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-key-never-used-in-production-7c1e9a4f2b8d6e3a5c0f")
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)

    import django

    django.setup()
    from django.db import connection

    _, report = directory_load(size=args.size, seed=args.seed, rebuild_indexes=True)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (generator_version int, size int, seed int, "
                       "loaded_at timestamptz DEFAULT now(), report jsonb)")
        cursor.execute(f"INSERT INTO {META_TABLE} (generator_version, size, seed, report) VALUES (%s, %s, %s, %s)",
                       [GENERATOR_VERSION, args.size, args.seed, json.dumps(report.__dict__)])
    print(json.dumps(report.__dict__))


if __name__ == "__main__":
    main()
