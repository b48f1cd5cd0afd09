"""gunicorn as deployed (./gunicorn.conf.py) spreads connections over its
workers: each worker listens on a socket of its own, so the kernel hands each
new connection to one of them. On one shared socket the first worker to wake
took every connection waiting, and a keep-alive client stays with the worker
that accepted it: 16 clients all on one worker, half the machine idle
(bench/README.md, round 21)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORKERS = 2
# Spread at random over 2 workers, 32 connections all land on one in 1 run out of 2**31.
CONNECTIONS = 32


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so read after its ")".
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def _tcp_sockets(port: int) -> dict[int, str]:
    """inode -> state ("listening" or "established") of this machine's IPv4
    TCP sockets whose local port is `port`."""
    states = {"0A": "listening", "01": "established"}
    found = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local_port = int(fields[1].rsplit(":", 1)[1], 16)
        if local_port == port and fields[3] in states:
            found[int(fields[9])] = states[fields[3]]
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[len("socket:["):-1]))
    return inodes


def _held(pid: int, port: int) -> dict[str, int]:
    """How many listening and established sockets on `port` the process holds."""
    sockets = _tcp_sockets(port)
    held = {"listening": 0, "established": 0}
    for inode in _socket_inodes(pid) & sockets.keys():
        held[sockets[inode]] += 1
    return held


def test_each_worker_listens_on_its_own_socket_and_keep_alive_clients_are_spread_over_them(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "WEB_CONCURRENCY": str(WORKERS),
        "GUNICORN_THREADS": "1",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "test-only-key-for-a-gunicorn-started-by-the-suite-5e1d7c9a3b",
        # The favicon reads no database; a file of this test's own keeps the suite's apart.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
        "DATABASE_REPLICA_URLS": "",
    }
    env.pop("CACHE_URL", None)  # the embedded default: this process's memory
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "meetingfinder.wsgi:application", "-c", str(ROOT / "gunicorn.conf.py"),
         "-b", f"127.0.0.1:{port}", "--log-level", "warning", "--no-control-socket"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    clients: list[http.client.HTTPConnection] = []
    try:
        deadline = time.monotonic() + 30
        workers: list[int] = []
        while time.monotonic() < deadline and server.poll() is None:
            workers = _children(server.pid)
            if len(workers) == WORKERS and all(_held(pid, port)["listening"] for pid in workers):
                break
            time.sleep(0.2)
        assert server.poll() is None, server.stderr.read().decode()[-2000:]
        assert len(workers) == WORKERS

        # One listening socket per worker, none shared, none left with the arbiter.
        assert [_held(pid, port)["listening"] for pid in workers] == [1] * WORKERS
        assert _held(server.pid, port)["listening"] == 0
        listening = [inode for inode, state in _tcp_sockets(port).items() if state == "listening"]
        assert len(listening) == WORKERS

        # Keep-alive clients, as wrk or a proxy opens them, all at once: every worker gets some.
        for _ in range(CONNECTIONS):
            client = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            client.connect()
            clients.append(client)
        for client in clients:
            client.request("GET", "/favicon.ico")
            answer = client.getresponse()
            answer.read()
            assert answer.status == 200
            assert answer.getheader("Connection", "").lower() != "close"
        held = {pid: _held(pid, port)["established"] for pid in workers}
        assert sum(held.values()) == CONNECTIONS
        assert all(held.values()), held
    finally:
        for client in clients:
            client.close()
        os.killpg(server.pid, signal.SIGQUIT)  # gunicorn's quick shutdown, workers included
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    # The offline geocoder's gazetteer was read once, by the arbiter before it forked the workers
    # (preload_app; meetingfinder/wsgi.py): not by each worker, nor by the first person to search on each.
    assert server.stderr.read().decode().count("offline gazetteer:") == 1


def test_the_development_server_reads_the_gazetteer_before_its_first_request(tmp_path):
    """`make run` serves with runserver: the offline gazetteer (about a second)
    is read as it starts, not by the first person to type a place, whose search
    would also be charged for it against their computing budget."""
    port = _free_port()
    environment = {**os.environ, "DJANGO_DEBUG": "true", "GEOCODER": "offline",
                   "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    server = subprocess.Popen([sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
                              cwd=ROOT, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, "runserver did not start"
                time.sleep(0.1)
    finally:
        server.terminate()
        server.wait(timeout=15)
    # Listening, before anyone asked anything: the cities are already read.
    assert "offline gazetteer:" in server.stderr.read().decode()


def test_what_the_app_loads_is_set_aside_from_the_garbage_collector(settings):
    """meetingfinder/wsgi.py freezes what loading the app made (gc.freeze):
    else every full collection, and the one each process makes as it exits,
    walks those two million objects again (about a second of CPU for each
    gunicorn worker that quits)."""
    import gc
    import importlib

    import meetingfinder.wsgi

    settings.LOGGING_CONFIG = None  # loaded again, the app leaves this process's logging as it is
    before = gc.get_freeze_count()
    importlib.reload(meetingfinder.wsgi)
    assert gc.get_freeze_count() > before
