"""Every benchmark, against PostgreSQL, for each directory size; prints a table
and writes JSON.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/ python bench/run.py \\
        [--sizes 10000,100000,1000000] [--json bench/results.json]

`DATABASE_URL` names the server; each size gets its own database
(`mf_bench_<size>`), created, migrated and bulk-loaded on first use and reused
while the generator version, size and seed match. Each size is measured in
fresh processes (bench/search_bench.py, bench/http_bench.py) so settings and
connections point at that size's database. Import and export figures come from
bench/import_bench.py and bench/export_bench.py when they exist: each is run
with the size's DATABASE_URL and `--json PATH`, and its JSON is included as is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT))
# DEBUG is off, as in production, so Django needs a key: a throwaway one.
os.environ.setdefault("DJANGO_SECRET_KEY", "bench-only-key-never-used-in-production-7c1e9a4f2b8d6e3a5c0f")

from bench.directory import META_TABLE  # noqa: E402
from fixtures.directory import DEFAULT_SEED, GENERATOR_VERSION  # noqa: E402

PYTHON = sys.executable
OPTIONAL_BENCHES = ("import_bench.py", "export_bench.py")


def database_url(server_url: str, name: str) -> str:
    parts = urlsplit(server_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


def loaded_matches(url: str, size: int, seed: int) -> bool:
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(
                f"SELECT generator_version, size, seed FROM {META_TABLE} ORDER BY loaded_at DESC LIMIT 1").fetchone()
            # Anything else that wrote to the database (a stray import) makes it unusable.
            meetings = conn.execute("SELECT COUNT(*), COUNT(*) FILTER (WHERE source = 'bench') "
                                    "FROM meetings_meeting").fetchone()
    except psycopg.Error:
        return False
    return row == (GENERATOR_VERSION, size, seed) and meetings == (size, size)


def prepare_database(server_url: str, size: int, seed: int) -> tuple[str, dict]:
    """The size's database, loaded; reused when the same generator loaded it."""
    name = f"mf_bench_{size}"
    url = database_url(server_url, name)
    if loaded_matches(url, size, seed):
        # The schema may have moved on since the load (new columns): catch up.
        subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT,
                       env=dict(os.environ, DATABASE_URL=url, DJANGO_DEBUG="false"), check=True)
        return url, {"reused": True}
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    env = dict(os.environ, DATABASE_URL=url, DJANGO_DEBUG="false")
    started = time.perf_counter()
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    migrated = time.perf_counter()
    output = subprocess.run([PYTHON, str(BENCH / "directory.py"), "--size", str(size), "--seed", str(seed)],
                            cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout
    report = json.loads(output.strip().splitlines()[-1])
    report.update(reused=False, migrate_seconds=round(migrated - started, 1),
                  total_load_seconds=round(time.perf_counter() - migrated, 1))
    return url, report


def run_json(script: Path, url: str, *args: str, timeout: int = 3600) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
        path = out.name
    try:
        completed = subprocess.run([PYTHON, str(script), "--json", path, *args], cwd=ROOT, timeout=timeout,
                                   env=dict(os.environ, DATABASE_URL=url, DJANGO_DEBUG="false"),
                                   capture_output=True, text=True)
        if completed.returncode != 0:
            return {"error": f"{script.name} exited {completed.returncode}: {completed.stderr[-1500:]}"}
        try:
            return json.loads(Path(path).read_text())
        except ValueError:
            return {"error": f"{script.name} wrote no JSON", "output": completed.stdout[-2000:]}
    finally:
        Path(path).unlink(missing_ok=True)


def run_size(server_url: str, size: int, args) -> dict:
    print(f"== {size:,} meetings", file=sys.stderr, flush=True)
    url, load = prepare_database(server_url, size, args.seed)
    print(f"   database ready: {load}", file=sys.stderr, flush=True)
    result = {"size": size, "database": url.rsplit("/", 1)[-1], "load": load}
    result["search"] = run_json(BENCH / "search_bench.py", url, "--samples", str(args.samples),
                                "--api-samples", str(args.api_samples))
    print("   search done", file=sys.stderr, flush=True)
    if not args.skip_http:
        result["http"] = run_json(BENCH / "http_bench.py", url, "--seconds", str(args.http_seconds))
        print("   http done", file=sys.stderr, flush=True)
    return result


def run_optional(server_url: str, name: str) -> dict:
    """Import/export benchmarks (issues 3 and 4) print their own tables and load
    their own data, so each runs once, in a fresh database of its own (never a
    size's database, whose search figures it would change); its text is kept."""
    script = BENCH / name
    if not script.exists():
        return {"missing": f"bench/{name} not written yet"}
    db = f"mf_bench_{name.removesuffix('.py')}"
    with psycopg.connect(database_url(server_url, "postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{db}"')
        admin.execute(f'CREATE DATABASE "{db}"')
    env = dict(os.environ, DATABASE_URL=database_url(server_url, db), DJANGO_DEBUG="false")
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    completed = subprocess.run([PYTHON, str(script)], cwd=ROOT, env=env, capture_output=True, text=True,
                               timeout=3600)
    return {"database": db, "exit": completed.returncode, "output": completed.stdout[-4000:],
            "stderr": completed.stderr[-1500:] if completed.returncode else ""}


def _get(data: dict, *path, default="-"):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return default
        data = data[key]
    return data


def _pct(stats: dict) -> str:
    if not isinstance(stats, dict) or "p50" not in stats:
        return "-"
    return f"{stats['p50']:.2f} / {stats['p95']:.2f} / {stats['p99']:.2f}"


def table(results: list[dict]) -> str:
    sizes = [r["size"] for r in results]
    rows = [("meetings", [f"{s:,}" for s in sizes])]

    def add(label, fn):
        rows.append((label, [fn(r) for r in results]))

    add("load (s): generate + COPY + index", lambda r: "reused" if _get(r, "load", "reused") is True else
        f"{_get(r, 'load', 'total_load_seconds')}")
    for place in ("dense", "rural"):
        add(f"DB ms p50/p95/p99 indexed, {place}", lambda r, p=place: _pct(_get(r, "search", "db", p, "indexed")))
        add(f"DB ms p50/p95/p99 full scan, {place}", lambda r, p=place: _pct(_get(r, "search", "db", p, "full_scan")))
        add(f"full scan / indexed (p50), {place}", lambda r, p=place: _ratio(
            _get(r, "search", "db", p, "full_scan", "p50"), _get(r, "search", "db", p, "indexed", "p50")))
    add("DB ms p50/p95/p99 the API's page statement, dense", lambda r: _pct(
        _get(r, "search", "db", "dense", "page_statement")))
    add("DB planning ms p50, indexed dense / API points", lambda r: f"{_get(r, 'search', 'db', 'dense', 'indexed', 'planning', 'p50')}"
        f" / {_get(r, 'search', 'api', 'db_same_points', 'planning', 'p50')}")
    add("count ms p50 exact / capped / search (dense)", lambda r: " / ".join(
        f"{_get(r, 'search', 'count', k, 'p50')}" for k in ("exact_count", "capped_count", "search")))
    add("DB ms p50 same points as API", lambda r: _pct(_get(r, "search", "api", "db_same_points")))
    add("DB ms p50 the API's page statement, same points", lambda r: _pct(
        _get(r, "search", "api", "db_page_statement")))
    add("API in-process ms (Client) p50/p95/p99", lambda r: _pct(_get(r, "search", "api", "client")))
    add("API view req/s: app / ModelSerializer", lambda r: f"{_get(r, 'search', 'api', 'app_view', 'per_second')}"
        f" / {_get(r, 'search', 'api', 'model_serializer_view', 'per_second')}")
    add("API Client p50 / DB p50", lambda r: _ratio(_get(r, "search", "api", "client", "p50"),
                                                  _get(r, "search", "api", "db_same_points", "p50")))
    add("API Client p50 / page statement p50", lambda r: _ratio(
        _get(r, "search", "api", "client", "p50"), _get(r, "search", "api", "db_page_statement", "p50")))
    add("HTTP req/s (gunicorn workers x threads)", lambda r: f"{_get(r, 'http', 'per_second')} "
        f"({_get(r, 'http', 'gunicorn_workers')}x{_get(r, 'http', 'threads')})")
    add("HTTP ms p50/p95/p99", lambda r: f"{_get(r, 'http', 'p50_ms')} / {_get(r, 'http', 'p95_ms')} / "
        f"{_get(r, 'http', 'p99_ms')}")
    add("HTTP errors", lambda r: f"{_get(r, 'http', 'errors')}")
    width = max(len(label) for label, _ in rows)
    col = max(22, *(len(v) for _, values in rows for v in values))
    lines = [f"{label:<{width}} | " + " | ".join(f"{v:>{col}}" for v in values) for label, values in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _ratio(a, b) -> str:
    try:
        return f"{float(a) / float(b):.1f}x"
    except (TypeError, ValueError, ZeroDivisionError):
        return "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--json", help="write every figure here")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--samples", type=int, default=200, help="random points per database measurement")
    parser.add_argument("--api-samples", type=int, default=300)
    parser.add_argument("--http-seconds", type=int, default=15)
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--skip-optional", action="store_true", help="skip bench/import_bench.py, export_bench.py")
    parser.add_argument("--table-from", metavar="JSON", help="print the table of an earlier run's JSON and stop")
    args = parser.parse_args()
    if args.table_from:
        print(table(json.loads(Path(args.table_from).read_text())["results"]))
        return
    server_url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not server_url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/run.py needs DATABASE_URL pointing at a PostgreSQL server (postgres://user@host:port/)")
    results, optional = [], {}

    def save() -> None:
        # After every step, so a long run that fails late keeps what it measured.
        if args.json:
            Path(args.json).write_text(json.dumps(
                {"command": " ".join(sys.argv), "results": results, "optional": optional}, indent=2))

    for size in (int(s) for s in args.sizes.split(",") if s.strip()):
        results.append(run_size(server_url, size, args))
        save()
    if not args.skip_optional:
        for name in OPTIONAL_BENCHES:
            print(f"== {name}", file=sys.stderr, flush=True)
            optional[name] = run_optional(server_url, name)
            save()
    print(table(results))
    for name, outcome in optional.items():
        print(f"\n== bench/{name}" + (f" (exit {outcome['exit']})" if outcome.get("exit") else ""))
        print(outcome.get("missing") or outcome.get("output", "").rstrip() or outcome.get("stderr", ""))


if __name__ == "__main__":
    main()
