"""Export → import into a fresh log → export: the same EPCIS events and the same signed bodies."""

from __future__ import annotations

from pathlib import Path

import pytest
from epcis_samples import HOST, SampleLog, append_samples, fresh_ledger
from support import TestSigner

from traceability.epcis.export import VOLATILE_FIELDS, export_epcis, stable_view
from traceability.epcis.importer import import_document
from traceability.epcis.jsonout import dumps, loads
from traceability.ledger import Ledger


def _importer(ledger: Ledger) -> TestSigner:
    signer = TestSigner()
    signer.register(ledger.engine, role="importer", org="国家中药材流通追溯平台")
    return signer


def test_round_trip_gives_the_same_events(sample_log: SampleLog, tmp_path: Path) -> None:
    """After export, import into a fresh log and export again, only the volatile fields differ."""
    first = export_epcis(sample_log.ledger.engine, HOST).document
    text = dumps(first)
    with fresh_ledger(tmp_path / "second.db") as second:
        outcomes = import_document(second, _importer(second).key, loads(text), HOST)
        assert {o.status for o in outcomes} == {"appended"}
        assert len(outcomes) == len(sample_log.bodies)
        again = export_epcis(second.engine, HOST).document
    assert stable_view(again) == stable_view(first)
    changed = {
        key
        for old, new in zip(
            first["epcisBody"]["eventList"], again["epcisBody"]["eventList"], strict=True
        )
        for key in old
        if old[key] != new[key]
    }
    assert changed <= set(VOLATILE_FIELDS)
    assert {"eventID", "herbtrace:signer"} <= changed  # new envelopes, by the import signer


def test_imported_bodies_are_the_bodies_signed_at_the_source(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    """The import signer signs exactly the original bodies, at the original times."""
    document = loads(dumps(export_epcis(sample_log.ledger.engine, HOST).document))
    with fresh_ledger(tmp_path / "second.db") as second:
        importer = _importer(second)
        import_document(second, importer.key, document, HOST)
        entries = [second.entry(i)[2].payload() for i in range(second.size())]
    originals = [sample_log.ledger.entry(r.index or 0)[2].payload() for r in sample_log.results]
    registrations = [p for p in originals if p["body"]["type"] in ("site", "organisation")]
    events = [p for p in originals if p not in registrations]
    expected = sorted(registrations, key=lambda p: p["body"]["type"] == "organisation") + events
    assert [(p["time"], p["body"]) for p in entries] == [(p["time"], p["body"]) for p in expected]
    assert {p["signer"] for p in entries} == {importer.key_id}
    assert [p["seq"] for p in entries] == list(range(1, len(entries) + 1))


def test_importing_twice_appends_nothing_new(sample_log: SampleLog, tmp_path: Path) -> None:
    """A second import of the same document reports every event as already logged."""
    document = loads(dumps(export_epcis(sample_log.ledger.engine, HOST).document))
    with fresh_ledger(tmp_path / "second.db") as second:
        key = _importer(second).key
        first = import_document(second, key, document, HOST)
        size = second.size()
        again = import_document(second, key, document, HOST)
        assert second.size() == size
    assert {o.status for o in again} == {"duplicate"}
    assert [o.index for o in again] == [o.index for o in first]


@pytest.mark.postgres
def test_round_trip_from_sqlite_into_postgres(sqlite_ledger: Ledger, postgres_url: str) -> None:
    """The round trip holds between backends: a SQLite log exported into a PostgreSQL one."""
    append_samples(sqlite_ledger)
    first = export_epcis(sqlite_ledger.engine, HOST).document
    with fresh_ledger(None, postgres_url) as second:
        import_document(second, _importer(second).key, loads(dumps(first)), HOST)
        assert stable_view(export_epcis(second.engine, HOST).document) == stable_view(first)
