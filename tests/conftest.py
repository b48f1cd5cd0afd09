import datetime as dt

import pytest

from fellowships.services import vocabularies_sync
from meetings import clock


@pytest.fixture
def vocabularies(db):
    """AA, NA and Al-Anon with their type vocabularies."""
    return vocabularies_sync()


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

