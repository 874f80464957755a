"""Shared fixtures: settings, fresh SQLite and PostgreSQL databases, an initialised ledger."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from sqlalchemy import make_url
from sqlalchemy.engine import Engine
from support import settings_for

from traceability.bench.scratch_db import scratch_postgres
from traceability.ledger import Ledger, initialise
from traceability.settings import Settings
from traceability.storage.db import make_engine

os.environ.setdefault("HERBTRACE_KEY_KDF_COST", "development-fast")
"""Keys made in this process are wrapped with a cheap Argon2id (the suite makes thousands);
production refuses the setting, and `herbtrace` run as a subprocess without it uses RFC 9106's."""

POSTGRES_ADMIN_URL = os.environ.get(
    "HERBTRACE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(name="sqlite_url")
def _sqlite_url(tmp_path: pytest.TempPathFactory) -> str:
    """A URL of an empty SQLite database file private to the test."""
    return f"sqlite:///{tmp_path}/herbtrace.db"  # type: ignore[operator]


AS_APPLICATION_ROLE = os.environ.get("HERBTRACE_TEST_POSTGRES_AS_APP") == "1"
"""With HERBTRACE_TEST_POSTGRES_AS_APP=1, PostgreSQL tests connect as a role granted only
what the application needs (the schema migrated first by the owner): this finds what the
servers need. Tests of migrations themselves then fail, as they should, for want of rights."""

APP_ROLE = "herbtrace_test_app"


@pytest.fixture(name="postgres_url")
def _postgres_url() -> Iterator[str]:
    """A URL of an empty PostgreSQL database created for the test and dropped after it."""
    with scratch_postgres(POSTGRES_ADMIN_URL, prefix="herbtrace_test") as url:
        if not AS_APPLICATION_ROLE:
            yield url
            return
        app_url = make_url(url).set(username=APP_ROLE, password="app")  # noqa: S106
        app = app_url.render_as_string(hide_password=False)
        initialise(settings_for(app).model_copy(update={"migration_database_url": url}))
        yield app  # dropping the database drops the role's rights in it


@pytest.fixture(
    name="db_url", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def _db_url(request: pytest.FixtureRequest) -> str:
    """An empty database URL: each test using it runs on SQLite and on PostgreSQL."""
    fixture = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture(name="new_database")
def _new_database(
    db_url: str, tmp_path: pytest.TempPathFactory
) -> Callable[[], AbstractContextManager[str]]:
    """Makes further empty databases on the backend of `db_url`, each dropped after its block."""
    numbers = itertools.count()

    @contextmanager
    def make() -> Iterator[str]:
        if make_url(db_url).get_backend_name() == "postgresql":
            with scratch_postgres(POSTGRES_ADMIN_URL, prefix="herbtrace_test") as url:
                yield url
        else:
            yield f"sqlite:///{tmp_path}/more-{next(numbers)}.db"  # type: ignore[operator]

    return make


@pytest.fixture(name="settings")
def _settings(db_url: str) -> Settings:
    """Settings pointing at the test's own database."""
    return settings_for(db_url)


@pytest.fixture(name="engine")
def _engine(settings: Settings) -> Iterator[Engine]:
    """An engine on the test's database, migrated to head with a log key."""
    engine = make_engine(settings.database_url)
    initialise(settings, engine)
    yield engine
    engine.dispose()


@pytest.fixture(name="ledger")
def _ledger(settings: Settings, engine: Engine) -> Iterator[Ledger]:
    """A writable ledger on the test's own, freshly initialised database."""
    ledger = Ledger(settings, engine)
    yield ledger
    ledger.close()


@pytest.fixture(name="sqlite_ledger")
def _sqlite_ledger(sqlite_url: str) -> Iterator[Ledger]:
    """A writable ledger on a fresh SQLite database (for tests that need only one backend)."""
    settings = settings_for(sqlite_url)
    initialise(settings)
    ledger = Ledger(settings)
    yield ledger
    ledger.close()
