"""bench/mix_bench.py's Lua under the real wrk, against a stub server that
records what each connection asks: the two wrk threads draw their own
requests (with one seed they sent the same random points in the same order,
and the cache looked better than it is), a run's warm-up draws others than
the run, and every cacheable request is one the warm cache has asked."""

from __future__ import annotations

import http.server
import threading

from bench import mix_bench

WORK = {"places": ["92618", "Irvine%2C%20CA"], "slugs": ["a-meeting"], "bodies": [],
        "points": [(33.0 + n / 1000, -117.0 - n / 1000) for n in range(2000)]}
FIRST = 50


def _asked(seed: int) -> list[list[str]]:
    """Per connection (wrk -t2 -c2: one per thread), the first random-point paths it asked."""
    asked: dict[tuple, list[str]] = {}
    others: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            if "lat=" in self.path:
                asked.setdefault(self.client_address, []).append(self.path)
            elif "/feeds/" not in self.path:
                others.append(self.path)
            # One write: headers and body in separate packets wait on delayed ACKs.
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Cache: miss\r\n\r\n{}")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        script = mix_bench.mix_script(WORK, seed, feeds=[("a-body", '"an-etag"')])
        result = mix_bench.run_wrk(script, port=server.server_address[1], seconds=1, connections=2)
    finally:
        server.shutdown()
        server.server_close()
    assert result["errors"] == 0
    assert len(asked) == 2 and all(len(paths) >= FIRST for paths in asked.values())
    cacheable = {url for urls in mix_bench.cacheable_urls(WORK).values() for url in urls}
    assert others and set(others) <= cacheable
    return [paths[:FIRST] for paths in asked.values()]


def _shared(a: list[str], b: list[str]) -> int:
    return len(set(a) & set(b))


def test_the_threads_draw_their_own_random_points():
    one, other = _asked(14)
    # Of 84,000 possible requests, two independent draws of 50 share none, or one by chance.
    assert _shared(one, other) <= 3


def test_the_warm_up_draws_other_requests_than_the_run():
    run, warm_up = _asked(14), _asked(14 + 1)
    assert all(_shared(a, b) <= 3 for a in run for b in warm_up)
