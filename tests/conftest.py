"""Fixtures every test module may use. What tests build (rows, feed records,
form posts) is in factories.py; no test module imports another."""

import dataclasses
import datetime as dt
import io
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import groupby

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.cache import cache
from django.db import connections, models, transaction
from django.test.utils import override_settings
from django.utils import translation

from fellowships.models import Fellowship, ServiceBody
from fellowships.services import vocabularies_sync
from meetings import clock, services
from meetings.curation import curator_assign
from tests.factories import ServiceBodyFactory

# Test settings (meetingfinder/settings.py stays the one settings module): a
# password hash costs a millisecond instead of a third of a second, and the
# geocoder never leaves the machine whatever the environment says.
TEST_SETTINGS = {
    "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
    "GEOCODER": "offline",
}


@pytest.fixture(scope="session", autouse=True)
def test_settings():
    with override_settings(**TEST_SETTINGS):
        yield


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's test databases; before they are dropped, every
    connection closed, those of the aliases that read the same database
    (replicas, the nearest-first connections: `TEST["MIRROR"]`) too."""
    yield
    connections.close_all()


@pytest.fixture
def vocabularies(db):
    """AA, NA and Al-Anon with their type vocabularies."""
    return vocabularies_sync()


@pytest.fixture
def apply_dies(monkeypatch):
    """`apply_dies(on_call=n)`: an import's apply stops at the nth meeting it
    derives fields for, as when its worker is killed (RuntimeError "worker killed")."""

    def arrange(*, on_call: int) -> None:
        calls = {"n": 0}
        real = services.meeting_refresh_derived

        def dies(**kwargs):
            calls["n"] += 1
            if calls["n"] == on_call:
                raise RuntimeError("worker killed")
            return real(**kwargs)

        monkeypatch.setattr(services, "meeting_refresh_derived", dies)

    return arrange


@pytest.fixture
def api(client):
    return client


@pytest.fixture
def frozen_now(monkeypatch):
    """Stop the API's clock: `frozen_now(instant)` makes `clock.now()` return it."""

    def freeze(instant: dt.datetime) -> dt.datetime:
        monkeypatch.setattr(clock, "now", lambda: instant)
        return instant

    return freeze


@pytest.fixture
def clock_stopped(frozen_now):
    """The API's clock stopped mid-hour and mid-minute: a test that counts
    requests against a fixed window (change requests per hour, computing
    per minute) stays in one window however long it runs."""
    return frozen_now(dt.datetime(2026, 12, 1, 18, 30, 20, tzinfo=dt.timezone.utc))


@pytest.fixture
def clear_of_the_hours_turn():
    """For a test whose other processes read the real clock (so it cannot be
    stopped): if the hour turns within the next 90 seconds, wait for it, so a
    count per hour is not split across two windows."""
    import time

    left = 3600 - time.time() % 3600
    if left < 90:
        time.sleep(left + 0.5)


# Curation: two fellowships' service bodies, one with a child, and a curator for each.

@dataclass
class Directory:
    aa_office: ServiceBody
    aa_district: ServiceBody  # below aa_office
    na_area: ServiceBody
    aa_curator: object
    na_curator: object


@pytest.fixture
def directory(vocabularies) -> Directory:
    return directory_make()


@pytest.fixture(scope="module")
def directory_once(shared_rows):
    """`directory`'s rows made once for the module (`shared_rows`)."""
    with shared_rows():
        vocabularies_sync()
        yield directory_make()


@pytest.fixture
def directory_shared(directory_once, read_again) -> Directory:
    """`directory` for a module whose tests share it (it defines `directory`
    on this): made once, read again for each test."""
    return read_again(directory_once)


def directory_make() -> Directory:
    aa = Fellowship.objects.get(slug="aa")
    na = Fellowship.objects.get(slug="na")
    aa_office = ServiceBodyFactory(name="OC Central Office", fellowship=aa)
    aa_district = ServiceBodyFactory(name="South County District", fellowship=aa, parent=aa_office)
    na_area = ServiceBodyFactory(name="OC NA Area", fellowship=na)
    User = get_user_model()
    aa_curator = User.objects.create_user("aa-volunteer", "aa-volunteer@example.org", "not-a-real-password")
    na_curator = User.objects.create_user("na-volunteer", "na-volunteer@example.org", "not-a-real-password")
    curator_assign(user=aa_curator, service_bodies=[aa_office])
    curator_assign(user=na_curator, service_bodies=[na_area])
    return Directory(aa_office, aa_district, na_area, aa_curator, na_curator)


@pytest.fixture
def aa_client(client, directory):
    """A client signed in as the AA office's curator."""
    client.force_login(directory.aa_curator)
    return client


# The Orange County sample directory, for tests that only read it.

@pytest.fixture(scope="session")
def shared_rows(django_db_setup, django_db_blocker):
    """`with shared_rows(): ...` around a broader-scoped fixture's yield:
    the rows it writes inside are made once, in a transaction rolled back
    when the block ends; each test's own transaction nests in it as a
    savepoint, so what a test writes is undone and the next test sees the
    rows as made. Only tests that ask for that fixture run inside it: they
    run after their module's other tests (pytest_collection_modifyitems),
    and none of them may be transactional. A test gets its own copies of
    the objects made (`read_again`)."""

    @contextmanager
    def block():
        with django_db_blocker.unblock():
            outer = transaction.atomic()
            outer.__enter__()
            try:
                yield
            finally:
                transaction.set_rollback(True)
                outer.__exit__(None, None, None)

    return block


@pytest.fixture(scope="session")
def oc_sample_session(shared_rows):
    """Loaded once per session by the documented command (`shared_rows`).
    Tests that ask for it run last (pytest_collection_modifyitems below), so
    no other test sees it."""
    with shared_rows():
        call_command("load_sample_data", stdout=io.StringIO())
        yield


@pytest.fixture
def oc_sample(oc_sample_session, db):
    """The Orange County sample directory (read it; what a test writes is rolled back)."""


@pytest.fixture
def read_again(db):
    """`read_again(made)`: a test's own copies of the objects a broader-scoped
    fixture made (`shared_rows`), read from the database, in the same dict or
    dataclass: an object one test changes in memory is not the next one's."""

    def read(made):
        if isinstance(made, models.Model):
            return type(made)._default_manager.get(pk=made.pk)
        if isinstance(made, dict):
            return {key: read(value) for key, value in made.items()}
        if dataclasses.is_dataclass(made):
            return dataclasses.replace(made, **{f.name: read(getattr(made, f.name)) for f in dataclasses.fields(made)})
        return made

    return read


def _in_shared_rows(item) -> bool:
    return "shared_rows" in getattr(item, "fixturenames", ())


def _transactional(item) -> bool:
    """As pytest-django reads a test (its own ordering): it commits, and flushes what it leaves."""
    from pytest_django.fixtures import validate_django_db

    marker = item.get_closest_marker("django_db")
    if marker is not None and any(validate_django_db(marker)[:2]):  # transaction, reset_sequences
        return True
    return bool({"transactional_db", "live_server"} & set(getattr(item, "fixturenames", ())))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items):
    """After pytest-django's own ordering (the tests in a transaction first):
    in each module's run of tests, those inside a block of shared rows
    (`shared_rows`) after the others, so no other test sees the rows; the
    sample's readers last of all, in their order."""
    transactional = [item.nodeid for item in items if _in_shared_rows(item) and _transactional(item)]
    if transactional:
        # It would commit inside the block, and flush the shared rows when it ends.
        raise pytest.UsageError(f"a transactional test cannot read shared rows: {transactional}")
    sample = [item for item in items if "oc_sample" in getattr(item, "fixturenames", ())]
    sampled = set(sample)
    ordered = []
    for _, run in groupby((item for item in items if item not in sampled), key=lambda item: item.path):
        run = list(run)
        ordered += [item for item in run if not _in_shared_rows(item)] + [item for item in run if _in_shared_rows(item)]
    items[:] = ordered + sample


def pytest_configure(config):
    """The cyclic garbage collector run less often (in each xdist worker
    too): at Python's default, a collection every 700 new objects, tests
    that build and drop thousands of model instances, forms and responses
    spent a sixth of their CPU time collecting (tests/test_curation.py and
    test_filters.py: 3.4-4.0 s of 21-24 s; 1.6-1.9 s of 19 s after)."""
    import gc

    gc.set_threshold(10_000, 20, 20)


def pytest_collection_finish(session):
    """What lives as long as the session (modules, test items) set aside
    from the collector's full passes."""
    import gc

    gc.collect()
    gc.freeze()


def pytest_sessionstart(session):
    """The pages' catalogues (locale/*/LC_MESSAGES/django.po) compiled before
    any test reads them, as `make setup` does: .mo files are never committed."""
    from pathlib import Path

    locale = Path(__file__).resolve().parent.parent / "locale"
    stale = [po for po in locale.glob("*/LC_MESSAGES/django.po")
             if not po.with_suffix(".mo").exists() or po.with_suffix(".mo").stat().st_mtime < po.stat().st_mtime]
    if stale:
        import os

        here = os.getcwd()
        os.chdir(locale.parent)  # compilemessages walks the working directory for locale folders
        try:
            call_command("compilemessages", locale=[po.parent.parent.name for po in stale],
                         ignore_patterns=[".venv", "staticfiles", "node_modules"], verbosity=0)
        finally:
            os.chdir(here)


# Tests sharing a costly module- or class-scoped fixture, by nodeid prefix:
# under pytest-xdist (--dist loadgroup, pytest.ini) each group runs on one
# worker, which builds the fixture once (spread over both, each worker built
# it). xdist's own xdist_group mark does nothing with pytest 9 (it renames
# the nodeid through an attribute pytest no longer reads), hence the names
# here. Never a module with readers of the session's sample (`oc_sample`):
# a group is sent before the single tests, and they must run last.
ONE_WORKER = {
    "tests/test_public_answers.py::": "two_processes and writes_rows",
    "tests/test_fixtures_directory.py::": "generated_directory",
    "tests/test_geo_index_plan.py::": "hundred_thousand",
    "tests/test_search_api.py::TestSoonestFirstPages::": "spread_rows",
    "tests/test_bmlt_server.py::": "bmlt directory_rows",
    "tests/test_export.py::": "export directory_rows",
    "tests/test_feeds_hostile.py::": "imported_once",
    "tests/test_compute_budget.py::": "meetings_once",
    "tests/test_bad_input.py::": "bad input directory_once",
    "tests/test_errors.py::": "served_schema",
}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class OneWorkerPerGroup(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            for prefix, group in ONE_WORKER.items():
                if nodeid.startswith(prefix):
                    return group
            return super()._split_scope(nodeid)

    return OneWorkerPerGroup(config, log)


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty shared cache (answers, throttles), and
    nothing kept in this process per directory version or near the cache: tests that share rows
    (`shared_rows`) share a version too."""
    from meetings import directory_version, public_answers

    def empty():
        cache.clear()
        directory_version._kept.clear()
        directory_version._near.clear()
        public_answers._spans.clear()

    empty()
    yield
    empty()


@pytest.fixture(autouse=True)
def _default_language():
    """Each test starts in the default language: a page read in Spanish
    leaves its language active in the thread (LocaleMiddleware activates it
    and nothing deactivates it), and a later test calling a service would
    read Spanish messages."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


@pytest.fixture
def type_names_read(client):
    """Call after making the data: one page read, so the rows' map of type
    names for this directory version is known (meetings/rows.py reads it once
    per version) and a test counts a page's own statements."""

    def read() -> None:
        assert client.get("/api/v1/meetings/", {"limit": 1}).status_code == 200

    return read
