"""Audit bundles: export, offline verification, tampered and malformed bundles."""

from __future__ import annotations

import base64
import gzip
import json
import os
import random
import subprocess
from pathlib import Path

import pytest
import support
from typer.testing import CliRunner

from traceability.cli import app
from traceability.demo import SIGNERS, seed_events
from traceability.ledger import Ledger
from traceability.log.audit import Auditor, AuditReport
from traceability.log.bundle import FORMAT, BundleSource, export_bundle
from traceability.log.entry import parse_leaf
from traceability.log.note import NoteSigner, NoteVerifier

EVENTS = 60
CHECKPOINT_SIZES = (25, 45, 60)


def seed(ledger: Ledger) -> None:
    """Append 60 demo events, with checkpoints at 25, 45 and 60 entries."""
    done = 0
    for size in CHECKPOINT_SIZES:
        assert all(r.status == "accepted" for r in seed_events(ledger, size - done))
        ledger.checkpointer.issue(ledger.engine)
        done = size


def audit(path: Path, verifier: NoteVerifier) -> AuditReport:
    """Run the full audit on a bundle file."""
    return Auditor(verifier).run(BundleSource(path))


@pytest.fixture(name="exported")
def _exported(sqlite_ledger: Ledger, tmp_path: Path) -> Path:
    """A bundle of a seeded SQLite log."""
    seed(sqlite_ledger)
    path = tmp_path / "log.jsonl"
    assert export_bundle(sqlite_ledger.engine, sqlite_ledger.verifier, path) == EVENTS
    return path


def read_lines(path: Path) -> list[str]:
    """The bundle's lines, without their newlines."""
    return path.read_text(encoding="utf-8").splitlines()


def write_lines(path: Path, lines: list[str]) -> Path:
    """Write lines as a bundle file and return its path."""
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def entry_line(lines: list[str], index: int) -> int:
    """The position in `lines` of entry `index`'s record."""
    prefix = f'{{"entry":{{"index":{index},'
    return next(i for i, line in enumerate(lines) if line.startswith(prefix))


def record_lines(lines: list[str], kind: str) -> list[int]:
    """The positions of every record of one kind (signer, checkpoint)."""
    return [i for i, line in enumerate(lines[1:], start=1) if kind in json.loads(line)]


def with_leaf(lines: list[str], index: int, leaf: bytes) -> list[str]:
    """Return the lines with entry `index`'s leaf replaced."""
    changed = list(lines)
    record = {"entry": {"index": index, "leaf": base64.b64encode(leaf).decode()}}
    changed[entry_line(lines, index)] = json.dumps(record, separators=(",", ":"))
    return changed


def leaf_of(lines: list[str], index: int) -> bytes:
    """Entry `index`'s leaf bytes as the bundle holds them."""
    return base64.b64decode(json.loads(lines[entry_line(lines, index)])["entry"]["leaf"])


def first_index(report: AuditReport) -> int:
    """The index of the audit's first finding; fails the test when the audit found nothing."""
    first = report.first()
    assert first is not None, "the audit found nothing"
    return first.index


def first_entry_of(lines: list[str], key_id: str) -> int:
    """The lowest index of an entry signed by `key_id`."""
    return min(
        i for i in range(EVENTS) if parse_leaf(leaf_of(lines, i)).payload()["signer"] == key_id
    )


@pytest.mark.parametrize("name", ["log.jsonl", "log.jsonl.gz"])
def test_bundle_round_trip_verifies(ledger: Ledger, tmp_path: Path, name: str) -> None:
    """An exported bundle, plain or gzip-compressed, verifies with every entry and checkpoint."""
    seed(ledger)
    path = tmp_path / name
    assert export_bundle(ledger.engine, ledger.verifier, path) == EVENTS
    if name.endswith(".gz"):
        assert path.read_bytes()[:2] == b"\x1f\x8b"
    source = BundleSource(path)
    assert source.header["format"] == FORMAT
    assert source.header["log_key"] == ledger.verifier.to_vkey()
    assert source.header["origin"] == ledger.settings.log_origin
    assert source.size() == EVENTS
    assert len(source.signers()) == len(SIGNERS)
    report = Auditor(ledger.verifier).run(source)
    assert report.ok, report.findings
    assert (report.entries, report.checkpoints, report.nodes) == (EVENTS, 3, 0)


LEAF_LINES = {  # line number, and the byte of it to change (negative: from the line's end)
    "magic": (0, 0),
    "index": (1, -1),
    "prev": (2, 31),
    "received": (3, -2),  # a microsecond digit: still a well-formed time, only hashes see it
    "signature": (4, 40),
    "payload": (5, 60),
}


def changed_byte(byte: int) -> int:
    """A different byte of the same kind where there is one: digit for digit, case for case."""
    char = chr(byte)
    if char in "0123456789abcdef":
        return ord("1" if char == "0" else "0")
    if char.isascii() and char.isalpha():
        return ord(char.swapcase())
    return byte ^ 0x01


@pytest.mark.parametrize("line", sorted(LEAF_LINES))
def test_a_changed_leaf_byte_fails_at_that_entry(
    exported: Path, sqlite_ledger: Ledger, line: str
) -> None:
    """Changing one byte of any line of entry 23's leaf fails the audit at entry 23."""
    lines = read_lines(exported)
    leaf = bytearray(leaf_of(lines, 23))
    starts = [0] + [i + 1 for i, b in enumerate(leaf) if b == 0x0A]
    number, offset = LEAF_LINES[line]
    at = starts[number] + offset if offset >= 0 else starts[number + 1] - 1 + offset
    leaf[at] = changed_byte(leaf[at])
    tampered = write_lines(exported.with_name("tampered.jsonl"), with_leaf(lines, 23, leaf))
    report = audit(tampered, sqlite_ledger.verifier)
    assert not report.ok
    assert first_index(report) == 23, report.findings


def test_random_leaf_bit_flips_fail_at_their_entry(exported: Path, sqlite_ledger: Ledger) -> None:
    """Sixty random one-bit changes anywhere in a leaf each fail the audit at that entry."""
    lines = read_lines(exported)
    rng = random.Random(20261123)
    wrong = []
    for trial in range(60):
        index = rng.randrange(EVENTS - 1)  # the last entry's prev line: see the next test
        leaf = bytearray(leaf_of(lines, index))
        pos = rng.randrange(len(leaf))
        leaf[pos] ^= 1 << rng.randrange(8)
        tampered = write_lines(exported.with_name("tampered.jsonl"), with_leaf(lines, index, leaf))
        report = audit(tampered, sqlite_ledger.verifier)
        got = report.first()
        if got is None or got.index != index:
            wrong.append(f"trial {trial}: entry {index} byte {pos}: {got}")
    assert not wrong, "\n".join(wrong)


def test_a_changed_prev_line_in_the_last_entry_fails_from_the_entry_before(
    exported: Path, sqlite_ledger: Ledger
) -> None:
    """A bundle whose last entry's prev line changed fails at the entry before it.

    A bundle holds no leaf hashes: when only the last link is broken, a changed last prev
    line and a changed earlier leaf look the same, so the audit names the earlier entry.
    """
    lines = read_lines(exported)
    leaf = bytearray(leaf_of(lines, EVENTS - 1))
    at = leaf.index(b"\n", leaf.index(b"\n") + 1) + 5  # a hex digit of the prev line
    leaf[at] = ord("0") if leaf[at] != ord("0") else ord("1")  # still 64 lowercase hex digits
    tampered = write_lines(exported.with_name("tampered.jsonl"), with_leaf(lines, EVENTS - 1, leaf))
    assert first_index(audit(tampered, sqlite_ledger.verifier)) == EVENTS - 2


@pytest.mark.parametrize("index", [0, 17, EVENTS - 1])
def test_a_dropped_entry_fails_at_its_index(
    exported: Path, sqlite_ledger: Ledger, index: int
) -> None:
    """Leaving one entry's line out of the bundle fails the audit at that entry's index."""
    lines = read_lines(exported)
    del lines[entry_line(lines, index)]
    tampered = write_lines(exported.with_name("tampered.jsonl"), lines)
    assert first_index(audit(tampered, sqlite_ledger.verifier)) == index


@pytest.mark.parametrize(("a", "b"), [(10, 11), (5, 40), (0, EVENTS - 1)])
def test_reordered_entries_fail_at_the_first_moved_index(
    exported: Path, sqlite_ledger: Ledger, a: int, b: int
) -> None:
    """Swapping two entries' lines fails the audit at the lower of the two indexes."""
    lines = read_lines(exported)
    i, j = entry_line(lines, a), entry_line(lines, b)
    lines[i], lines[j] = lines[j], lines[i]
    tampered = write_lines(exported.with_name("tampered.jsonl"), lines)
    assert first_index(audit(tampered, sqlite_ledger.verifier)) == a


@pytest.mark.parametrize("part", ["size", "root", "signature"])
def test_an_altered_checkpoint_note_fails_at_its_last_entry(
    exported: Path, sqlite_ledger: Ledger, part: str
) -> None:
    """Changing one character of checkpoint 45's note fails the audit at entry 44."""
    lines = read_lines(exported)
    (at,) = (i for i in record_lines(lines, "checkpoint") if '"tree_size": 45' in lines[i])
    record = json.loads(lines[at])
    note: str = record["checkpoint"]["note"]
    origin, size, root, _, signature, _ = note.split("\n")
    if part == "size":
        size = "44"
    elif part == "root":
        root = ("B" if root[0] != "B" else "C") + root[1:]
    else:
        signature = signature[:-6] + ("A" if signature[-6] != "A" else "B") + signature[-5:]
    record["checkpoint"]["note"] = "\n".join([origin, size, root, "", signature, ""])
    assert record["checkpoint"]["note"] != note
    lines[at] = json.dumps(record)
    tampered = write_lines(exported.with_name("tampered.jsonl"), lines)
    report = audit(tampered, sqlite_ledger.verifier)
    assert first_index(report) == 44, report.findings
    assert "checkpoint 45" in report.findings[0].what


def test_swapped_signer_keys_fail_at_the_first_entry_of_either(
    exported: Path, sqlite_ledger: Ledger
) -> None:
    """Exchanging two signers' public keys fails the audit at the first entry either signed."""
    lines = read_lines(exported)
    first, second = record_lines(lines, "signer")[:2]
    a, b = json.loads(lines[first]), json.loads(lines[second])
    a["signer"]["public_key"], b["signer"]["public_key"] = (
        b["signer"]["public_key"],
        a["signer"]["public_key"],
    )
    lines[first], lines[second] = json.dumps(a), json.dumps(b)
    tampered = write_lines(exported.with_name("tampered.jsonl"), lines)
    report = audit(tampered, sqlite_ledger.verifier)
    expected = min(
        first_entry_of(lines, a["signer"]["key_id"]), first_entry_of(lines, b["signer"]["key_id"])
    )
    assert first_index(report) == expected
    assert "does not match its ID" in report.findings[0].what


def test_a_signer_given_a_new_key_fails_at_its_first_entry(
    exported: Path, sqlite_ledger: Ledger
) -> None:
    """Replacing one signer's public key with a key of the attacker's fails at its first entry."""
    lines = read_lines(exported)
    at = record_lines(lines, "signer")[-1]
    record = json.loads(lines[at])
    record["signer"]["public_key"] = NoteSigner.generate("x").verifier().public_key.hex()
    lines[at] = json.dumps(record)
    tampered = write_lines(exported.with_name("tampered.jsonl"), lines)
    expected = first_entry_of(lines, record["signer"]["key_id"])
    assert first_index(audit(tampered, sqlite_ledger.verifier)) == expected


def clean_env(**extra: str) -> dict[str, str]:
    """The test's environment without any HERBTRACE_ variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
    env.update(extra)
    return env


def herbtrace(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed `herbtrace` command as a real process with exactly `env`."""
    return support.run_herbtrace(args, cwd, environ=env)


def test_export_then_verify_offline(sqlite_ledger: Ledger, tmp_path: Path) -> None:
    """`herbtrace export bundle` writes a bundle that `verify --bundle` checks with no database."""
    seed(sqlite_ledger)
    vkey = sqlite_ledger.verifier.to_vkey()
    out = tmp_path / "out" / "log.jsonl.gz"
    out.parent.mkdir()
    env = clean_env(
        HERBTRACE_DATABASE_URL=sqlite_ledger.settings.database_url,
        HERBTRACE_LOG_ORIGIN=sqlite_ledger.settings.log_origin,
    )
    exported = herbtrace(["export", "bundle", "--out", str(out)], env, tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert f"wrote {EVENTS} entries" in exported.stdout
    assert f"--log-key {vkey}" in exported.stdout

    elsewhere = tmp_path / "regulator"
    elsewhere.mkdir()
    absent = tmp_path / "no-such-dir" / "herbtrace.db"
    offline = clean_env(HERBTRACE_DATABASE_URL=f"sqlite:///{absent}")
    verified = herbtrace(["verify", "--bundle", str(out), "--log-key", vkey], offline, elsewhere)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert f"checked {EVENTS} entries, 3 checkpoints and 0 tree nodes" in verified.stdout
    assert "OK" in verified.stdout
    assert not absent.parent.exists()
    assert list(elsewhere.iterdir()) == []

    wrong = NoteSigner.generate(sqlite_ledger.settings.log_origin).verifier().to_vkey()
    refused = herbtrace(
        ["verify", "--bundle", str(out), "--log-key", wrong], clean_env(), elsewhere
    )
    assert refused.returncode == 1
    assert "FAILED at entry 24:" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert list(elsewhere.iterdir()) == []


def _write_truncated_gz(path: Path, exported: Path) -> None:
    data = gzip.compress(exported.read_bytes())
    path.write_bytes(data[: len(data) - 300])


def _write_plain_as_gz(path: Path, exported: Path) -> None:
    path.write_bytes(exported.read_bytes())


MALFORMED = {
    "not-json.jsonl": (lambda p, _: p.write_text("this is not JSON\n"), "not JSON"),
    "wrong-format.jsonl": (
        lambda p, _: p.write_text('{"format": "herbtrace-bundle/v0", "tree_size": 1}\n'),
        f"not a {FORMAT} file",
    ),
    "empty.jsonl": (lambda p, _: p.write_text(""), "empty bundle"),
    "truncated.jsonl.gz": (_write_truncated_gz, "unreadable bundle"),
    "plain.jsonl.gz": (_write_plain_as_gz, "unreadable bundle"),
    "latin1.jsonl": (lambda p, _: p.write_bytes(b'{"format": "\xe9"}\n'), "unreadable bundle"),
    "bad-checkpoint.jsonl": (
        lambda p, e: p.write_text(
            e.read_text().splitlines()[0] + '\n{"checkpoint": {"note": 1}}\n'
        ),
        "malformed checkpoint",
    ),
    "bad-entry.jsonl": (
        lambda p, e: p.write_text(e.read_text() + '{"entry": {"index": 60, "leaf": "!!"}}\n'),
        "malformed entry",
    ),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_bundle_gives_a_one_line_error(
    exported: Path, sqlite_ledger: Ledger, tmp_path: Path, name: str
) -> None:
    """A malformed or unreadable bundle makes verify exit non-zero with one clear line."""
    write, message = MALFORMED[name]
    path = tmp_path / name
    write(path, exported)
    vkey = sqlite_ledger.verifier.to_vkey()
    result = CliRunner().invoke(app, ["verify", "--bundle", str(path), "--log-key", vkey])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit), result.exception
    errors = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("error:")
    assert message in errors[0]
    assert "Traceback" not in result.output


def test_a_truncated_gz_bundle_fails_cleanly_as_a_process(
    exported: Path, sqlite_ledger: Ledger, tmp_path: Path
) -> None:
    """Run as a real process, verify names a truncated gzip bundle as unreadable, exit 1."""
    path = tmp_path / "cut.jsonl.gz"
    _write_truncated_gz(path, exported)
    vkey = sqlite_ledger.verifier.to_vkey()
    result = herbtrace(["verify", "--bundle", str(path), "--log-key", vkey], clean_env(), tmp_path)
    assert result.returncode == 1
    assert "unreadable bundle" in result.stderr
    assert "Traceback" not in result.stderr
    assert "Aborted" not in result.stderr
