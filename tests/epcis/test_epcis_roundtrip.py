"""Export → import into a fresh log → export, the rules on both sides: the same EPCIS events
and the same signed bodies."""

from __future__ import annotations

from pathlib import Path

import pytest
from epcis_samples import HOST, SampleLog, append_samples, fresh_domain, import_into, importer
from read_support import read

from traceability.domain.alerts import list_alerts
from traceability.domain.batches import read_batch
from traceability.domain.units import batch_units
from traceability.epcis.export import VOLATILE_FIELDS, export_epcis, stable_view
from traceability.epcis.jsonout import dumps, loads


def test_round_trip_gives_the_same_events(sample_log: SampleLog, tmp_path: Path) -> None:
    """After export, import into a fresh log and export again, only the volatile fields differ."""
    first = export_epcis(sample_log.ledger.engine, HOST).document
    text = dumps(first)
    with fresh_domain(tmp_path / "second.db") as second:
        outcomes = import_into(second, importer(second), loads(text))
        assert {o.status for o in outcomes} == {"appended"}
        assert len(outcomes) == len(sample_log.bodies)
        again = export_epcis(second.engine, HOST).document
        assert second.ledger.size() == len(outcomes)  # the rules raised no alerts of their own
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


def test_imported_events_are_indexed_as_at_the_source(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    """The imported log's indexes hold the same batches, custody, quality and units as the
    source's: each event acted for the organisation it names, not the importer's."""
    document = loads(dumps(export_epcis(sample_log.ledger.engine, HOST).document))
    source = sample_log.domain
    with fresh_domain(tmp_path / "second.db") as second:
        import_into(second, importer(second), document)
        for batch in (
            "FS-RS-P-2020-01",
            "FS-RS-2026-00002",
            "JA-HS-2026-0007-A",
            "JA-HS-2026-0010",
        ):
            theirs, ours = (
                read(source.engine, read_batch, batch).to_json(),
                read(second.engine, read_batch, batch).to_json(),
            )
            del theirs["created_index"], ours["created_index"]
            assert ours == theirs, batch
        assert read(second.engine, read_batch, "JA-HS-2026-0007-A").custodian == "JA-PLANT"
        assert read(second.engine, read_batch, "JA-HS-2026-0010").status == "recalled"
        assert [u.status for u in read(second.engine, batch_units, "JA-HS-2026-0007-A-P")] == [
            "packed",
            "sold",
            "packed",
        ]
        [imported] = read(second.engine, list_alerts)
        assert imported.id.startswith("AI-")
        assert (imported.kind, imported.batch) == ("quality_failed", "JA-HS-2026-0010")


def test_imported_bodies_are_the_bodies_signed_at_the_source(
    sample_log: SampleLog, tmp_path: Path
) -> None:
    """The import signer signs exactly the original bodies, at the original times; the
    organisations come first, then the sites that name them."""
    document = loads(dumps(export_epcis(sample_log.ledger.engine, HOST).document))
    with fresh_domain(tmp_path / "second.db") as second:
        signer = importer(second)
        import_into(second, signer, document)
        entries = [second.ledger.entry(i)[2].payload() for i in range(second.ledger.size())]
    originals = [sample_log.ledger.entry(i)[2].payload() for i in sample_log.indices]
    assert [(p["time"], p["body"]) for p in entries] == [(p["time"], p["body"]) for p in originals]
    assert {p["signer"] for p in entries} == {signer.key_id}
    assert [p["seq"] for p in entries] == list(range(1, len(entries) + 1))


def test_importing_twice_appends_nothing_new(sample_log: SampleLog, tmp_path: Path) -> None:
    """A second import of the same document reports every event as already logged."""
    document = loads(dumps(export_epcis(sample_log.ledger.engine, HOST).document))
    with fresh_domain(tmp_path / "second.db") as second:
        signer = importer(second)
        first = import_into(second, signer, document)
        size = second.ledger.size()
        again = import_into(second, signer, document)
        assert second.ledger.size() == size
    assert {o.status for o in again} == {"duplicate"}
    assert [o.index for o in again] == [o.index for o in first]


@pytest.mark.postgres
def test_round_trip_from_sqlite_into_postgres(tmp_path: Path, postgres_url: str) -> None:
    """The round trip holds between backends: a SQLite log exported into a PostgreSQL one."""
    with fresh_domain(tmp_path / "source.db") as source:
        append_samples(source)
        first = export_epcis(source.engine, HOST).document
    with fresh_domain(None, postgres_url) as second:
        outcomes = import_into(second, importer(second), loads(dumps(first)))
        assert {o.status for o in outcomes} == {"appended"}
        assert stable_view(export_epcis(second.engine, HOST).document) == stable_view(first)
