"""Fuzzing the API against its own OpenAPI schema (issue 12): schemathesis
generates requests for every operation (valid ones and invalid ones), sends
them in-process to the Django WSGI app over the Orange County sample data,
and checks every answer: no server error, status documented, body, headers
and content type as the schema says, invalid input refused, valid input taken.

A fixed seed makes a run repeatable. `FUZZ_EXAMPLES` sets the examples per
operation and per mode (CI's default below; `make fuzz` runs a longer one).
"""

from __future__ import annotations

import os
from collections import Counter

import hypothesis
import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from schemathesis.core.failures import FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from meetingfinder.wsgi import application

SEED = int(os.environ.get("FUZZ_SEED", "20261129"))
# Per operation and mode; 15 operations x 2 modes x 45 = 1,350 cases at most
# (hypothesis stops early on an operation with little to vary).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "45"))
MINIMUM_REQUESTS = int(os.environ.get("FUZZ_MINIMUM_REQUESTS", "1000"))
# The operations are fuzzed in shards (every SHARDS-th operation), so the
# suite's workers (pytest-xdist) share them out; each operation's cases are
# seeded by the operation alone, so they are the same however they are split.
# Eight: the shards run last (they read the session's sample), where a long
# one leaves the other worker idle; two operations take 4 s each where most
# take 1 s (the calendar of every meeting, the changes), and in five shards of
# three the shards took 3-7 s; in eight, 1-6 s (each shard costs a quarter of
# a second more: fifteen, one operation each, cost 2.7 s of CPU more than five).
SHARDS = 8


class CountingApp:
    """The WSGI app, counting the requests it answers by status."""

    def __init__(self, app):
        self.app = app
        self.statuses: Counter[int] = Counter()

    def __call__(self, environ, start_response):
        def counting_start_response(status, headers, exc_info=None):
            self.statuses[int(status.split()[0])] += 1
            return start_response(status, headers, exc_info)

        return self.app(environ, counting_start_response)


@pytest.fixture
def sample_directory(oc_sample, settings):
    """The Orange County sample (tests/conftest.py: loaded by load_sample_data, rolled back)."""
    settings.GEOCODER = "offline"
    # The change-request throttle would answer 429 to nearly every case after the tenth.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"change-requests": "1000000/hour"}}
    cache.clear()
    # The real WSGI handler closes "old" connections at each request: in the
    # test's transaction that would be this test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)
    cache.clear()


def _list_sent_as_one_value(case, lists: set[str]) -> bool:
    """An "invalid" case that is valid on the wire: a list parameter given as
    one string (`language: "DA"`) is sent as `language=DA`, exactly the list
    ["DA"] (comma-separated, explode false). Its answer is still checked, but
    not expected to be a 400."""
    return (case.meta is not None and case.meta.generation.mode is GenerationMode.NEGATIVE
            and any(isinstance((case.query or {}).get(name), str) for name in lists))


def fuzz(app: CountingApp, shard: int) -> tuple[int, float, list[str]]:
    """Every SHARDS-th operation from the shard-th, both modes; the number of
    cases, the shard's part of all operations and the failures."""
    schema = schemathesis.openapi.from_wsgi("/api/schema/", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    mine = operations[shard::SHARDS]
    failures: list[str] = []
    cases = 0
    for operation in mine:
        definition = schema.raw_schema["paths"][operation.path][operation.method.lower()]
        lists = {p["name"] for p in definition.get("parameters", [])
                 if p["in"] == "query" and p.get("schema", {}).get("type") == "array"}
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @hypothesis.seed(SEED)
        @hypothesis.settings(max_examples=EXAMPLES * 2, deadline=None, database=None, derandomize=False,
                             phases=[Phase.explicit, Phase.generate], print_blob=False,
                             suppress_health_check=list(HealthCheck))
        @hypothesis.given(case=strategy)
        def run(case):
            nonlocal cases
            cases += 1
            excluded = [positive_data_acceptance]
            if _list_sent_as_one_value(case, lists):
                excluded.append(negative_data_rejection)
            try:
                case.call_and_validate(excluded_checks=excluded)
            except FailureGroup as failure:
                failures.append(f"{operation.label}: {failure}")

        run()
    return cases, len(mine) / len(operations), failures


@pytest.mark.parametrize("shard", range(SHARDS), ids=[f"operations-{n}-of-{SHARDS}" for n in range(SHARDS)])
def test_every_operation_answers_within_its_schema(sample_directory, shard):
    app = CountingApp(application)
    cases, part, failures = fuzz(app, shard)
    requests = sum(app.statuses.values())
    server_errors = sum(n for status, n in app.statuses.items() if status >= 500)
    print(f"\nfuzz shard {shard}: seed {SEED}, {cases} cases, {requests} requests, {server_errors} server errors, "
          f"{len(failures)} failures; statuses {dict(sorted(app.statuses.items()))}")
    report = os.environ.get("FUZZ_REPORT")
    if report:  # the shards' failures, each shard's in one write (`make fuzz` empties the file first)
        with open(report, "a") as out:
            out.write("".join(f"{failure}\n\n" for failure in failures))
    assert not failures, "\n\n".join(failures[:20])
    assert server_errors == 0
    # The shard's part of the minimum: every shard meeting its part is the whole minimum met.
    assert requests >= MINIMUM_REQUESTS * part
