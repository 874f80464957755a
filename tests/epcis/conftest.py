"""Fixtures of the EPCIS tests: a log holding one signed event of every domain kind."""

from __future__ import annotations

import pytest
from epcis_samples import SampleLog, append_samples

from traceability.ledger import Ledger


@pytest.fixture(name="sample_log")
def _sample_log(ledger: Ledger) -> SampleLog:
    """A log (SQLite and PostgreSQL) holding one signed event of every domain kind."""
    return append_samples(ledger)
