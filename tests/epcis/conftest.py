"""Fixtures of the EPCIS tests: a domain log holding one signed event of every domain kind."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from epcis_samples import SampleLog, append_samples
from sqlalchemy.engine import Engine

from traceability.domain.service import Domain
from traceability.settings import Settings


@pytest.fixture(name="sample_log")
def _sample_log(settings: Settings, engine: Engine) -> Iterator[SampleLog]:
    """A domain log (SQLite and PostgreSQL, the rules on, the packaged herb catalogue) holding
    one event of every domain kind, each signed by the party that would sign it."""
    domain = Domain(settings, engine)
    try:
        yield append_samples(domain)
    finally:
        domain.close()
