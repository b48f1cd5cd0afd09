"""docker-compose.yml's database pair, started as the postgres image starts
it: `db` made by initdb with the image's pg_hba.conf line and the scripts
compose mounts in /docker-entrypoint-initdb.d, run with compose's command;
then `db-replica`'s pg_basebackup, over the network as another container
connects (from a non-loopback address), and the standby it makes following
the primary. Before deploy/postgres/replication.sh the primary refused the
copy ("no pg_hba.conf entry for replication connection"), so db-replica
never started and neither did web, which waits for it.

Docker is not on the machines that test this; the clusters are throwaway
ones on spare ports in a temp dir, as `.ci/replica` makes (which runs this)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path(os.environ.get("TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
# The line the postgres image appends to pg_hba.conf (its pg_setup_hba_conf;
# scram-sha-256 is PostgreSQL 15's password_encryption).
IMAGE_HBA_LINE = "host all all all scram-sha-256"

pytestmark = [
    pytest.mark.replica,
    pytest.mark.skipif(not os.environ.get("TEST_REPLICA_URL"),
                       reason="makes PostgreSQL clusters as .ci/replica does (run there: TEST_REPLICA_URL)"),
]


def compose_value(text: str) -> str:
    """A compose value with its `${NAME:-default}` read as the default."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", text)


def spare_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def network_address() -> str:
    """An address of this machine that is not loopback: the image's default
    pg_hba.conf trusts replication from 127.0.0.1, as no other container is."""
    listed = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    found = [address for address in listed if "." in address and not address.startswith("127.")]
    if not found:
        pytest.fail("this test needs a non-loopback IPv4 address (hostname -I lists none)")
    return found[0]


def as_postgres(*command: str, env: dict[str, str] | None = None, check: bool = True):
    return subprocess.run(["runuser", "-u", "postgres", "--", "env", *(f"{k}={v}" for k, v in (env or {}).items()),
                           *command], capture_output=True, text=True, timeout=120, check=check)


def psql(port: int, sql: str, *, socket_dir: Path) -> str:
    return as_postgres(str(PG_BIN / "psql"), "-h", str(socket_dir), "-p", str(port), "-U", "meetingfinder",
                       "-d", "postgres", "-Atc", sql).stdout.strip()


@pytest.fixture
def workdir():
    """A directory of postgres's own in /tmp (pytest's temp dirs are root's
    alone, and each pytest run that starts sets them so again)."""
    where = Path(tempfile.mkdtemp(prefix="mf-compose-db."))
    shutil.chown(where, "postgres")
    yield where
    for data in ("standby", "primary"):
        if (where / data / "postmaster.pid").exists():
            as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(where / data), "stop", "-m", "immediate", check=False)
    shutil.rmtree(where, ignore_errors=True)


def test_the_replica_is_made_and_follows_the_primary_as_compose_starts_them(workdir):
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    db, standby_service = services["db"], services["db-replica"]
    environment = {name: compose_value(str(value)) for name, value in db["environment"].items()}
    user, password = environment["POSTGRES_USER"], environment["POSTGRES_PASSWORD"]
    primary, standby = workdir / "primary", workdir / "standby"

    # db: initdb as the image runs it, its pg_hba.conf line, compose's init scripts.
    (workdir / "pw").write_text(password + "\n")
    as_postgres(str(PG_BIN / "initdb"), "-D", str(primary), f"--username={user}", f"--pwfile={workdir / 'pw'}")
    with (primary / "pg_hba.conf").open("a") as hba:
        hba.write(f"\n{IMAGE_HBA_LINE}\n")
    scripts = [mount.split(":")[0] for mount in db.get("volumes", []) if ":/docker-entrypoint-initdb.d/" in mount]
    for script in scripts:
        as_postgres("sh", str((ROOT / script).resolve()), env={"PGDATA": str(primary), **environment})

    # ... started with compose's command, listening on the network.
    address, primary_port, standby_port = network_address(), spare_port(), spare_port()
    assert db["command"][0] == "postgres"
    options = [*db["command"][1:], "-c", f"listen_addresses={address}", "-c", f"port={primary_port}",
               "-c", f"unix_socket_directories={workdir}", "-c", "fsync=off"]
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(primary), "-l", str(workdir / "primary.log"), "-w", "start",
                "-o", shlex.join(options))

    # db-replica: its own pg_basebackup, pointed at db's address.
    copy = re.search(r"pg_basebackup ([^&;]+)", standby_service["command"]).group(1).split()
    copy = [{"db": address}.get(word, word) for word in copy]
    copy[copy.index("-D") + 1] = str(standby)
    made = as_postgres(str(PG_BIN / "pg_basebackup"), "-p", str(primary_port), *copy,
                       env={"PGPASSWORD": compose_value(standby_service["environment"]["PGPASSWORD"])}, check=False)
    assert made.returncode == 0, made.stderr
    as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(standby), "-l", str(workdir / "standby.log"), "-w", "start",
                "-o", shlex.join(["-c", f"port={standby_port}", "-c", "listen_addresses=",
                                  "-c", f"unix_socket_directories={workdir}"]))

    assert psql(standby_port, "SELECT pg_is_in_recovery()", socket_dir=workdir) == "t"
    psql(primary_port, "CREATE TABLE replicated AS SELECT 42 AS answer", socket_dir=workdir)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if psql(standby_port, "SELECT to_regclass('replicated') IS NOT NULL", socket_dir=workdir) == "t":
            break
        time.sleep(0.1)
    assert psql(standby_port, "SELECT answer FROM replicated", socket_dir=workdir) == "42"
