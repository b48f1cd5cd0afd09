"""The page's budgets (issue 10), measured on the Orange County sample data:
the first page of results in under 300 ms of server time, and the home page
(HTML, CSS, JavaScript and the map library it loads on demand; no tiles)
under 150 KB compressed. Both print what they measured.

Searches without a place read soonest first (`starting_within`) and the
meetings under way (`in_progress`): both build their SQL over every IANA
zone (599, querysets.py), not the few the directory's meetings use. That is
most of their ~240-270 ms here (close to the budget, over it on a loaded
machine); with the sample's 4 zones the same pages took ~100-125 ms."""

import gzip
import time

from django.contrib.staticfiles import finders

SERVER_BUDGET_MS = 300
WEIGHT_BUDGET_BYTES = 150 * 1024
SEARCHES = {
    "now (no input)": {},
    "near Irvine": {"near": "Irvine"},
    "AA Tuesday evening open": {"fellowship": "aa", "day": "2", "time_of_day": "evening", "open": "open"},
    "online, keyword": {"attendance": "online", "q": "step"},
}


def test_first_page_of_results_under_300_ms(oc_sample, client):
    timings = {}
    for label, query in SEARCHES.items():
        client.get("/", query)  # warm: vocabularies, zone data, compiled templates
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            response = client.get("/", query)
            runs.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200 and b'class="meeting"' in response.content
        timings[label] = sorted(runs)[len(runs) // 2]
    print("search page, median server ms:", {label: round(ms, 1) for label, ms in timings.items()})
    assert max(timings.values()) < SERVER_BUDGET_MS, timings


def test_home_page_weight_under_150_kb_compressed(oc_sample, client):
    html = client.get("/").content
    parts = {"html": html}
    for name in ("meetings/site.css", "meetings/pages.js", "leaflet/leaflet.js", "leaflet/leaflet.css"):
        path = finders.find(name)
        assert path, name
        parts[name] = open(path, "rb").read()
        assert f"/static/{name}".encode() in html, f"{name} is not what the page loads"
    compressed = {name: len(gzip.compress(body, 9)) for name, body in parts.items()}
    total = sum(compressed.values())
    print("home page, gzip bytes:", compressed, "total", total)
    assert total < WEIGHT_BUDGET_BYTES
