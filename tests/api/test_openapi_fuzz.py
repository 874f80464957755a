"""Schemathesis over the OpenAPI schema: no request, anonymous or as admin, gets a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
import support
from api_support import Callers, api_settings
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans
from sqlalchemy.engine import Engine

from api.main import create_app
from traceability import users
from traceability.ledger import Ledger, initialise
from traceability.storage.db import make_engine

EXAMPLES = 25
"""Examples per operation, each sent anonymously and as an admin: seconds in all, under 60 s."""


@pytest.fixture(name="fuzzed", scope="module")
def _fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FastAPI, Engine]]:
    """The app on a SQLite log of a few entries, with every kind of user; it resolves links
    from its own (empty) supply-chain records."""
    path: Path = tmp_path_factory.mktemp("fuzz") / "herbtrace.db"
    config = api_settings(f"sqlite:///{path}")
    engine = make_engine(config.database_url)
    initialise(config, engine)
    Callers.create(engine)
    with Ledger(config, engine) as ledger:
        signer = support.TestSigner()
        signer.register(engine)
        ledger.append([signer.next() for _ in range(5)])
        ledger.checkpointer.issue(engine)
    app = create_app(config)
    yield app, engine
    shutdown_lifespans()  # schemathesis ran the app's lifespan; close its ledger
    engine.dispose()


@pytest.fixture(name="api_schema", scope="module")
def _api_schema(fuzzed: tuple[FastAPI, Engine]) -> schemathesis.BaseSchema:
    """The app's own OpenAPI schema, fetched from it."""
    return schemathesis.openapi.from_asgi("/openapi.json", fuzzed[0])


OPERATIONS = [
    (method.upper(), path)
    for path, operations in create_app().openapi()["paths"].items()
    for method in operations
]
"""Every operation of the OpenAPI schema (building it needs no database)."""

FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_no_server_errors(
    api_schema: schemathesis.BaseSchema, fuzzed: tuple[FastAPI, Engine], method: str, path: str
) -> None:
    """Generated requests, anonymous and with a fresh admin token, never get a 5xx."""
    _, engine = fuzzed
    operation = api_schema[path][method]

    @FUZZ
    @given(case=operation.as_strategy())
    def calls(case: schemathesis.Case) -> None:
        token = users.issue_token(engine, "root", "fuzz").token
        for headers in ({}, {"Authorization": f"Bearer {token}"}):
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

    calls()
