"""API test fixtures: an app on a fresh database holding every kind of caller."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import Callers, api_settings
from fastapi.testclient import TestClient

from api.main import create_app
from traceability.ledger import initialise
from traceability.storage.db import make_engine


@pytest.fixture(name="sqlite_api")
def _sqlite_api(sqlite_url: str) -> Iterator[tuple[TestClient, Callers]]:
    """A client of an app on a fresh SQLite database holding the four users."""
    settings = api_settings(sqlite_url)
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    callers = Callers.create(engine)
    with TestClient(create_app(settings)) as client:
        yield client, callers
    engine.dispose()
