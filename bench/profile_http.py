"""Where an HTTP search's time goes: CPU per search of every process under
load, and a py-spy profile of one gunicorn worker grouped by stage.

    DATABASE_URL=postgres://.../mf_bench_100000 python bench/profile_http.py [--seconds 10]

Starts gunicorn as deployed (gunicorn.conf.py) and drives it with wrk, as
bench/http_bench.py does. CPU per search comes from /proc/<pid>/stat of the
gunicorn and PostgreSQL processes before and after the run. The profile needs
py-spy (`pip install py-spy`; not a project dependency) and is skipped without
it. Prints a table; `--json PATH` writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fixtures import directory  # noqa: E402
from bench.http_bench import free_port, run_wrk, start_gunicorn, stop  # noqa: E402

# Stages by the first of these frames a sampled stack contains, in this order.
STAGES = [
    ("waiting on PostgreSQL + psycopg", ("Cursor.execute", "Connection.wait", "Cursor.fetchall")),
    ("compiling queries (ORM)", ("SQLCompiler.as_sql", "Query.chain", "QuerySet.filter")),
    ("parsing parameters (search_parse)", ("search_parse",)),
    ("building rows (meeting_rows)", ("_rows",)),
    ("pagination links and response", ("get_paginated_response",)),
    ("DRF dispatch (request, negotiation, render)", ("APIView.dispatch",)),
    ("Django handler + middleware", ("WSGIHandler.__call__",)),
    ("gunicorn itself (poll, write, heartbeat)", ("ThreadWorker", "Worker.init_process")),
]


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by gunicorn's processes (`python .../gunicorn ...`)
    and PostgreSQL's (`postgres: ...`)."""
    totals = {"gunicorn": 0.0, "postgres": 0.0}
    tick = os.sysconf("SC_CLK_TCK")
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        name = "postgres" if command.startswith("postgres") else "gunicorn" if "gunicorn" in command else None
        if name:
            totals[name] += (int(fields[11]) + int(fields[12])) / tick
    return totals


def stages(raw: str) -> dict[str, float]:
    counts, total = Counter(), 0
    for line in raw.splitlines():
        stack, _, n = line.rpartition(" ")
        if not n.isdigit():
            continue
        total += int(n)
        stage = next((name for name, frames in STAGES if any(f in stack for f in frames)), "other")
        counts[stage] += int(n)
    return {name: round(100 * n / total, 1) for name, n in counts.most_common()} if total else {}


def run(*, seconds: int, connections: int, seed: int) -> dict:
    points = directory.populated_points(random.Random(seed), 2000)
    port = free_port()
    server = start_gunicorn(port)
    spy_binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    profile: dict = {"skipped": "py-spy is not installed"}
    try:
        run_wrk(port, points, seconds=2, connections=connections, threads=2, seed=seed + 1)
        before, started = cpu_seconds(), time.monotonic()
        spy = None
        if Path(spy_binary).exists():
            workers = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
            out = tempfile.NamedTemporaryFile(suffix=".txt", delete=False).name
            spy = subprocess.Popen([spy_binary, "record", "-p", workers[0], "-d", str(max(1, seconds - 2)), "-r", "400",
                                    "-f", "raw", "-o", out, "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load = run_wrk(port, points, seconds=seconds, connections=connections, threads=2, seed=seed)
        after, elapsed = cpu_seconds(), time.monotonic() - started
        if spy is not None:
            spy.wait(timeout=60)
            profile = stages(Path(out).read_text())
            Path(out).unlink(missing_ok=True)
    finally:
        stop(server)
    searches = load["requests"]
    cpu = {name: round((after[name] - before[name]) / searches * 1000, 3) for name in after}
    return {"per_second": load["per_second"], "p50_ms": load["p50_ms"], "p99_ms": load["p99_ms"],
            "errors": load["errors"], "cpu_ms_per_search": cpu,
            "cores_busy": round(sum(after[n] - before[n] for n in after) / elapsed, 2), "py_spy_stages_percent": profile}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/profile_http.py needs wrk (Debian package wrk)")
    result = run(seconds=args.seconds, connections=args.connections, seed=args.seed)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    print(f"{result['per_second']} searches/s, p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms, "
          f"errors {result['errors']}, {result['cores_busy']} cores busy")
    for name, ms in result["cpu_ms_per_search"].items():
        print(f"  CPU per search, {name:<9} {ms:.3f} ms")
    for name, share in result["py_spy_stages_percent"].items():
        print(f"  {share:>5}%  {name}" if isinstance(share, float) else f"  profile: {share}")


if __name__ == "__main__":
    main()
