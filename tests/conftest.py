import pytest

from fellowships.services import vocabularies_sync


@pytest.fixture
def vocabularies(db):
    """AA, NA and Al-Anon with their type vocabularies."""
    return vocabularies_sync()


@pytest.fixture
def api(client):
    return client
