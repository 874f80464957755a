"""`herbtrace export epcis` and `herbtrace import keygen / epcis`, run as real processes."""

from __future__ import annotations

import json
from pathlib import Path

from epcis_samples import append_samples
from support import run_herbtrace

from traceability.epcis.export import export_epcis, stable_view
from traceability.epcis.jsonout import dumps, loads
from traceability.epcis.validate import validate_epcis
from traceability.ledger import Ledger
from traceability.settings import Settings

HOST = "trace.example.cn"


def _env(db: Path) -> dict[str, str]:
    return {"HERBTRACE_DATABASE_URL": f"sqlite:///{db}", "HERBTRACE_DIGITAL_LINK_HOST": HOST}


def _init(tmp_path: Path, name: str) -> Path:
    db = tmp_path / f"{name}.db"
    done = run_herbtrace(["init"], tmp_path, **_env(db))
    assert done.returncode == 0, done.stderr
    return db


def test_export_import_export_on_the_command_line(tmp_path: Path) -> None:
    """export epcis writes a valid document on the configured host; import brings it back whole."""
    source = _init(tmp_path, "source")
    with Ledger(Settings(database_url=f"sqlite:///{source}")) as ledger:
        samples = append_samples(ledger)
    out = tmp_path / "herbs.jsonld"
    done = run_herbtrace(["export", "epcis", "--out", str(out)], tmp_path, **_env(source))
    assert done.returncode == 0, done.stderr
    assert "wrote 16 events and 4 registrations" in done.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    validate_epcis(document)
    assert document["epcisBody"]["eventList"][3]["quantityList"][0]["epcClass"] == (
        f"https://{HOST}/batch/FS-RS-2026-00001"
    )
    target = _init(tmp_path, "target")
    key = tmp_path / "importer.pem"
    args = [
        "import",
        "keygen",
        "--key",
        str(key),
        "--name",
        "平台导入",
        "--organisation",
        "国家平台",
    ]
    done = run_herbtrace(args, tmp_path, **_env(target))
    assert done.returncode == 0, done.stderr
    assert key.stat().st_mode & 0o777 == 0o600
    assert b"ENCRYPTED PRIVATE KEY" in key.read_bytes()
    done = run_herbtrace(["import", "epcis", str(out), "--key", str(key)], tmp_path, **_env(target))
    assert done.returncode == 0, done.stderr
    assert "appended 20, already logged 0, skipped 0, refused 0" in done.stdout
    with Ledger(Settings(database_url=f"sqlite:///{target}"), writable=False) as ledger:
        assert ledger.size() == len(samples.bodies)
        again = export_epcis(ledger.engine, HOST).document
    written = loads(out.read_bytes())
    assert stable_view(loads(dumps(again))) == stable_view(written)


def test_export_of_one_batch(tmp_path: Path) -> None:
    """--batch writes only that batch's lineage; an unknown batch exits 1 naming it."""
    source = _init(tmp_path, "source")
    with Ledger(Settings(database_url=f"sqlite:///{source}")) as ledger:
        append_samples(ledger)
    out = tmp_path / "one.jsonld"
    args = ["export", "epcis", "--batch", "JA-HS-2026-0010", "--out", str(out)]
    done = run_herbtrace(args, tmp_path, **_env(source))
    assert done.returncode == 0, done.stderr
    events = json.loads(out.read_text(encoding="utf-8"))["epcisBody"]["eventList"]
    assert [e["bizStep"].rsplit("/", 1)[-1] for e in events][-3:] == [
        "merging",
        "recalling",
        "alerting",
    ]
    args = ["export", "epcis", "--batch", "NOPE-1", "--out", str(tmp_path / "none.jsonld")]
    done = run_herbtrace(args, tmp_path, **_env(source))
    assert done.returncode == 1
    assert "no exported event names batch NOPE-1" in done.stderr
    assert not (tmp_path / "none.jsonld").exists()


def test_bad_input_files_give_one_line_errors_and_append_nothing(tmp_path: Path) -> None:
    """Non-JSON, non-EPCIS, a missing file and a wrong key passphrase exit 1 with the reason."""
    target = _init(tmp_path, "target")
    key = tmp_path / "importer.pem"
    args = ["import", "keygen", "--key", str(key), "--name", "导入", "--organisation", "平台"]
    assert run_herbtrace(args, tmp_path, **_env(target)).returncode == 0
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json", encoding="utf-8")
    not_epcis = tmp_path / "other.json"
    not_epcis.write_text('{"type": "EPCISDocument", "epcisBody": {}}', encoding="utf-8")
    cases = [
        (garbage, {}, "not JSON"),
        (not_epcis, {}, "not a valid EPCIS 2.0 document"),
        (tmp_path / "missing.json", {}, "cannot read"),
        (not_epcis, {"HERBTRACE_IMPORT_KEY_PASSPHRASE": "wrong"}, "cannot decrypt the import key"),
    ]
    for path, extra, message in cases:
        done = run_herbtrace(
            ["import", "epcis", str(path), "--key", str(key)], tmp_path, **_env(target), **extra
        )
        assert done.returncode == 1, (path, done.stdout)
        assert message in done.stderr, done.stderr
    with Ledger(Settings(database_url=f"sqlite:///{target}"), writable=False) as ledger:
        assert ledger.size() == 0
    again = run_herbtrace(args, tmp_path, **_env(target))
    assert again.returncode == 1
    assert "exists already" in again.stderr
