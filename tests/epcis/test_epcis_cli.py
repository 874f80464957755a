"""`herbtrace export epcis` and `herbtrace import keygen / epcis`, run as real processes, the
domain's rules judging every imported event."""

from __future__ import annotations

import json
from pathlib import Path

from epcis_samples import append_samples
from support import TestSigner, run_herbtrace

from traceability.domain.service import Domain
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


def _keygen(tmp_path: Path, target: Path) -> Path:
    """Create and register an import signer on `target` with `import keygen`; its key file."""
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
    assert key.read_bytes().startswith(b"herbtrace encrypted ed25519 key")
    return key


def test_export_import_export_on_the_command_line(tmp_path: Path) -> None:
    """export epcis writes a valid document on the configured host; import brings it back whole
    through the rules, and a second import appends nothing."""
    source = _init(tmp_path, "source")
    with Domain(Settings(database_url=f"sqlite:///{source}")) as domain:
        samples = append_samples(domain)
    out = tmp_path / "herbs.jsonld"
    done = run_herbtrace(["export", "epcis", "--out", str(out)], tmp_path, **_env(source))
    assert done.returncode == 0, done.stderr
    assert "wrote 16 events and 5 registrations" in done.stdout
    document = json.loads(out.read_text(encoding="utf-8"))
    validate_epcis(document)
    assert document["epcisBody"]["eventList"][3]["quantityList"][0]["epcClass"] == (
        f"https://{HOST}/batch/FS-RS-2026-00001"
    )
    target = _init(tmp_path, "target")
    key = _keygen(tmp_path, target)
    command = ["import", "epcis", str(out), "--key", str(key)]
    done = run_herbtrace(command, tmp_path, **_env(target))
    assert done.returncode == 0, done.stderr
    assert "appended 21, already logged 0, skipped 0, refused 0" in done.stdout
    with Ledger(Settings(database_url=f"sqlite:///{target}"), writable=False) as ledger:
        assert ledger.size() == len(samples.bodies)
        again = export_epcis(ledger.engine, HOST).document
    written = loads(out.read_bytes())
    assert stable_view(loads(dumps(again))) == stable_view(written)
    done = run_herbtrace(command, tmp_path, **_env(target))
    assert done.returncode == 0, done.stderr
    assert "appended 0, already logged 21, skipped 0, refused 0" in done.stdout


def test_refused_events_are_listed_with_their_reason(tmp_path: Path) -> None:
    """Events the rules refuse are listed with eventID, reason code and detail, the command
    exits 1, and every other event is in the log."""
    source = _init(tmp_path, "source")
    with Domain(Settings(database_url=f"sqlite:///{source}")) as domain:
        append_samples(domain)
        document = loads(dumps(export_epcis(domain.engine, HOST).document))
    events = document["epcisBody"]["eventList"]
    [harvest] = [e for e in events if e["bizStep"] == "commissioning"]
    harvest["ilmd"]["herbtrace:growing_years"] = 9  # planted in 2020: six years, not nine
    out = tmp_path / "tampered.jsonld"
    out.write_text(dumps(document), encoding="utf-8")
    target = _init(tmp_path, "target")
    key = _keygen(tmp_path, target)
    done = run_herbtrace(["import", "epcis", str(out), "--key", str(key)], tmp_path, **_env(target))
    assert done.returncode == 1
    assert "some events were not imported" in done.stderr
    refusals = [line for line in done.stdout.splitlines() if line.startswith("refused ")]
    assert refusals[0].startswith(f"refused {harvest['eventID']} (growing_age): claims 9 growing")
    counts = done.stdout.splitlines()[0]
    appended = int(counts.split(",")[0].removeprefix("appended "))
    assert counts == f"appended {appended}, already logged 0, skipped 0, refused {len(refusals)}"
    assert appended + len(refusals) == len(events) + 5
    with Ledger(Settings(database_url=f"sqlite:///{target}"), writable=False) as ledger:
        # the import signer's entries, and the rules signer's alert on the refused harvest
        assert ledger.size() == appended + 1


def test_export_of_one_batch(tmp_path: Path) -> None:
    """--batch writes only that batch's lineage; an unknown batch exits 1 naming it."""
    source = _init(tmp_path, "source")
    with Domain(Settings(database_url=f"sqlite:///{source}")) as domain:
        append_samples(domain)
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
    assert "batch NOPE-1 is not recorded" in done.stderr
    assert not (tmp_path / "none.jsonld").exists()


def test_export_of_one_batch_catches_the_indexes_up(tmp_path: Path) -> None:
    """An entry appended past the rules is indexed before --batch reads the lineage, so the
    export holds it."""
    source = _init(tmp_path, "source")
    settings = Settings(database_url=f"sqlite:///{source}")
    with Domain(settings) as domain:
        samples = append_samples(domain)
    lab = TestSigner()
    with Ledger(settings) as plain:  # no domain policy: the indexes fall behind
        lab.register(plain.engine, role="inspector", org="JL-LAB")
        retest = next(b for b in samples.bodies if b["type"] == "quality_test")
        [result] = plain.append([lab.next({**retest, "report_no": "JLYJ-2026-11-0007"})])
    out = tmp_path / "one.jsonld"
    args = ["export", "epcis", "--batch", "JA-HS-2026-0007-A-P", "--out", str(out)]
    done = run_herbtrace(args, tmp_path, **_env(source))
    assert done.returncode == 0, done.stderr
    events = json.loads(out.read_text(encoding="utf-8"))["epcisBody"]["eventList"]
    assert events[-1]["herbtrace:log_index"] == result.index
    assert events[-1]["herbtrace:report_no"] == "JLYJ-2026-11-0007"


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
