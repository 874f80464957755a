"""Tamper trials: an attacker with database admin rights changes one value; the audit finds it.

Each trial copies a pristine, seeded log (a file copy on SQLite, CREATE DATABASE … TEMPLATE on
PostgreSQL), bypasses the append-only triggers the way a database administrator could, flips
one bit or one character of one stored value, and runs the full audit. The audit must fail,
and its first finding must name the first log index the change makes wrong.

The choices (row, byte, bit) repeat from run to run; set HERBTRACE_TAMPER_SEED to explore others.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import support
from sqlalchemy.engine import Connection, Engine

from traceability.demo import seed_events
from traceability.ledger import Ledger
from traceability.log.audit import Auditor
from traceability.log.audit_sources import DatabaseSource
from traceability.storage.db import is_sqlite, make_engine

SEED = int(os.environ.get("HERBTRACE_TAMPER_SEED", "20261123"))
TRIALS = 40
INT64 = 1 << 64
TEXT_POOL = "0123456789abcdefxyzXYZ+/= -—\n参茸é"
"""Replacement characters: hex digits, base64 and note syntax, and multi-byte UTF-8 text."""

KINDS = (
    ("log_entries", "leaf"),
    ("log_entries", "leaf"),
    ("log_entries", "leaf"),
    ("log_entries", "leaf_hash"),
    ("log_entries", "signer"),
    ("log_entries", "seq"),
    ("log_entries", "envelope_hash"),
    ("log_entries", "idx"),
    ("tree_nodes", "hash"),
    ("tree_nodes", "node_id"),
    ("checkpoints", "note"),
    ("checkpoints", "root"),
    ("checkpoints", "tree_size"),
    ("signers", "public_key"),
    ("signers", "key_id"),
)
"""What a trial may change; the leaf, the richest column, is chosen three times as often."""

PRIMARY_KEYS = {
    "log_entries": "idx",
    "tree_nodes": "node_id",
    "checkpoints": "tree_size",
    "signers": "key_id",
}


@dataclass(frozen=True)
class Snapshot:
    """The pristine log's stored rows, by table, as the trials pick from them."""

    entries: list[dict[str, Any]]
    nodes: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]
    signers: list[dict[str, Any]]

    @classmethod
    def read(cls, engine: Engine) -> Snapshot:
        """Read every row the trials may change."""

        def rows(sql: str) -> list[dict[str, Any]]:
            with engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(sa.text(sql))]

        return cls(
            rows(
                "SELECT idx, leaf, leaf_hash, signer, seq, envelope_hash "
                "FROM log_entries ORDER BY idx"
            ),
            rows("SELECT node_id, hash FROM tree_nodes ORDER BY node_id"),
            rows("SELECT tree_size, root, note FROM checkpoints ORDER BY tree_size"),
            rows("SELECT key_id, public_key FROM signers ORDER BY key_id"),
        )

    def first_entry_of(self, key_id: str) -> int:
        """The lowest log index signed by `key_id`."""
        return min(e["idx"] for e in self.entries if e["signer"] == key_id)


@dataclass(frozen=True)
class Tamper:
    """One changed value, and the index the audit's first finding must name."""

    table: str
    column: str
    key: Any
    old: Any
    new: Any
    expected: int
    where: str = ""

    def __str__(self) -> str:
        return (
            f"{self.table}.{self.column} of row {self.key!r}{self.where}: "
            f"{_short(self.old)} -> {_short(self.new)}, expected first index {self.expected}"
        )


def _short(value: Any) -> str:
    text = value.hex() if isinstance(value, bytes) else repr(value)
    return text if len(text) <= 80 else text[:77] + "…"


def flip_bit(value: bytes, rng: random.Random, positions: range | None = None) -> bytes:
    """Flip one random bit of one byte (at a random position of `positions`)."""
    changed = bytearray(value)
    pos = rng.choice(positions if positions is not None else range(len(value)))
    changed[pos] ^= 1 << rng.randrange(8)
    return bytes(changed)


def flip_int_bit(value: int, rng: random.Random, taken: set[int]) -> int:
    """Flip one bit of a signed 64-bit integer, avoiding values a unique key already holds."""
    for bit in rng.sample(range(64), 64):
        new = (value ^ (1 << bit)) % INT64
        new = new - INT64 if new >= INT64 // 2 else new
        if new not in taken:
            return new
    raise AssertionError(f"every one-bit change of {value} collides")


def change_char(value: str, rng: random.Random) -> str:
    """Replace one random character with a different one."""
    pos = rng.randrange(len(value))
    replacement = rng.choice([c for c in TEXT_POOL if c != value[pos]])
    return value[:pos] + replacement + value[pos + 1 :]


def leaf_positions(leaf: bytes, rng: random.Random) -> tuple[range, str]:
    """Pick where in a leaf to flip a bit: anywhere, or inside one chosen line."""
    starts = [0] + [i + 1 for i, b in enumerate(leaf) if b == 0x0A]
    lines = {
        "magic": 0, "index": 1, "prev": 2, "received": 3, "signature": 4, "payload": 5,
    }  # fmt: skip
    region = rng.choice(["anywhere", *lines])
    if region == "anywhere":
        return range(len(leaf)), ""
    line = lines[region]
    return range(starts[line], starts[line + 1] - 1), f" ({region} line)"


def choose_tamper(rng: random.Random, kind: tuple[str, str], snap: Snapshot) -> Tamper:
    """Pick a row of the table and change its column; work out the first bad index."""
    table, column = kind
    if table == "log_entries":
        row = rng.choice(snap.entries)
        idx = row["idx"]
        old = row[column]
        if column == "leaf":
            positions, where = leaf_positions(old, rng)
            return Tamper(table, column, idx, old, flip_bit(old, rng, positions), idx, where)
        if column == "idx":
            new = flip_int_bit(idx, rng, {e["idx"] for e in snap.entries})
            # Every index below the log's size is taken, so the entry can only move beyond
            # the log (min(old, new) = old) or to a negative index, which is no log index:
            # either way entry `idx` is missing from where the chain and the tree need it.
            return Tamper(table, column, idx, idx, new, min(idx, new) if new >= 0 else idx)
        if column == "seq":
            same = {e["seq"] for e in snap.entries if e["signer"] == row["signer"]}
            return Tamper(table, column, idx, old, flip_int_bit(old, rng, same), idx)
        if column == "signer":
            return Tamper(table, column, idx, old, change_char(old, rng), idx)
        return Tamper(table, column, idx, old, flip_bit(old, rng), idx)
    if table == "tree_nodes":
        row = rng.choice(snap.nodes)
        node = row["node_id"]
        level, index = node >> 56, node & ((1 << 56) - 1)
        where = f" = node ({level}, {index})"
        if column == "hash":
            new_hash = flip_bit(row["hash"], rng)
            return Tamper(table, column, node, row["hash"], new_hash, index << level, where)
        # The node is gone from (level, index): that is the first damage; wherever it moved
        # to, it either should not exist there or covers later entries.
        new = flip_int_bit(node, rng, {n["node_id"] for n in snap.nodes})
        return Tamper(table, column, node, node, new, index << level, where)
    if table == "checkpoints":
        row = rng.choice(snap.checkpoints)
        size = row["tree_size"]
        if column == "note":
            return Tamper(table, column, size, row["note"], change_char(row["note"], rng), size - 1)
        if column == "root":
            return Tamper(table, column, size, row["root"], flip_bit(row["root"], rng), size - 1)
        # The row now claims size `new` for a note signed for size `size`: the claim is wrong
        # about both tree sizes, so the first index it concerns is the smaller size minus one
        # (a claimed size of zero or less concerns the log from its first entry).
        new = flip_int_bit(size, rng, {c["tree_size"] for c in snap.checkpoints})
        return Tamper(table, column, size, size, new, max(min(size, new) - 1, 0))
    signed = {e["signer"] for e in snap.entries}  # a signer with no entries commits to nothing
    row = rng.choice([s for s in snap.signers if s["key_id"] in signed])
    key_id = row["key_id"]
    first = snap.first_entry_of(key_id)
    if column == "public_key":
        return Tamper(
            table, column, key_id, row["public_key"], flip_bit(row["public_key"], rng), first
        )
    return Tamper(table, column, key_id, key_id, change_char(key_id, rng), first)


@contextmanager
def triggers_bypassed(conn: Connection, table: str) -> Iterator[None]:
    """Let UPDATE through the append-only triggers, as an attacker with admin rights can."""
    if is_sqlite(conn):
        triggers = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = ?",
            (table,),
        ).all()
        for name, _ in triggers:
            conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        yield
        for _, sql in triggers:
            conn.exec_driver_sql(sql)
    else:
        conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        yield
        conn.exec_driver_sql(f"ALTER TABLE {table} ENABLE TRIGGER ALL")


def apply(engine: Engine, tamper: Tamper) -> None:
    """Write the tampered value over the stored one, triggers bypassed."""
    key = PRIMARY_KEYS[tamper.table]
    sql = sa.text(f"UPDATE {tamper.table} SET {tamper.column} = :new WHERE {key} = :key")  # noqa: S608
    with engine.begin() as conn, triggers_bypassed(conn, tamper.table):
        assert conn.execute(sql, {"new": tamper.new, "key": tamper.key}).rowcount == 1


class Copies:
    """Fresh copies of a pristine database, one per trial."""

    def __init__(self, pristine: Engine, workdir: Path) -> None:
        self._url = pristine.url
        self._workdir = workdir
        if is_sqlite(pristine):
            with pristine.connect() as conn:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        pristine.dispose()  # a template database must have no open sessions

    @contextmanager
    def copy(self, n: int) -> Iterator[Engine]:
        """Yield an engine on a private copy of the pristine log."""
        if self._url.get_backend_name() == "sqlite":
            path = self._workdir / f"trial-{n}.db"
            shutil.copyfile(str(self._url.database), path)
            engine = make_engine(f"sqlite:///{path}")
            try:
                yield engine
            finally:
                engine.dispose()
            return
        admin = sa.create_engine(self._url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        name = f"{self._url.database}_t{n}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{self._url.database}"')
        engine = make_engine(self._url.set(database=name).render_as_string(hide_password=False))
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()


def seed_log(ledger: Ledger) -> None:
    """Append 120 demo events with checkpoints at 50, 90 and 120 entries issued in between."""
    for count in (50, 40, 30):
        assert all(r.status == "accepted" for r in seed_events(ledger, count))
        ledger.checkpointer.issue(ledger.engine)


def run_trials(
    ledger: Ledger, workdir: Path, trials: int, check: Callable[[Tamper, Engine], str | None]
) -> list[str]:
    """Run `trials` tamper trials on copies of the seeded log; return what went wrong."""
    seed_log(ledger)
    snap = Snapshot.read(ledger.engine)
    backend = ledger.engine.dialect.name
    rng = random.Random(f"{SEED}/{backend}")
    kinds = rng.sample(KINDS, len(KINDS))
    copies = Copies(ledger.engine, workdir)
    failures: list[str] = []
    for n in range(trials):
        tamper = choose_tamper(rng, kinds[n % len(kinds)], snap)
        with copies.copy(n) as engine:
            apply(engine, tamper)
            problem = check(tamper, engine)
        if problem is not None:
            failures.append(f"{backend} trial {n} (seed {SEED}): {tamper}: {problem}")
    return failures


def audit_finds_first_index(ledger: Ledger) -> Callable[[Tamper, Engine], str | None]:
    """A trial check: the audit fails, and its first finding is at the expected index."""

    def check(tamper: Tamper, engine: Engine) -> str | None:
        report = Auditor(ledger.verifier).run(DatabaseSource(engine))
        first = report.first()
        if report.ok or first is None:
            return "the audit found nothing"
        if first.index != tamper.expected:
            return f"first finding is at {first.index}: {first.what}"
        return None

    return check


@pytest.mark.slow
def test_every_tamper_is_found_at_its_first_bad_index(ledger: Ledger, tmp_path: Path) -> None:
    """Forty random one-bit or one-character changes each fail the audit at the right index."""
    failures = run_trials(ledger, tmp_path, TRIALS, audit_finds_first_index(ledger))
    assert not failures, "\n".join(failures)


def test_the_pristine_copies_pass_the_audit(ledger: Ledger, tmp_path: Path) -> None:
    """A copy of the seeded log, untouched but for an UPDATE that keeps the value, verifies."""
    seed_log(ledger)
    snap = Snapshot.read(ledger.engine)
    copies = Copies(ledger.engine, tmp_path)
    entry = snap.entries[7]
    same = Tamper("log_entries", "leaf", 7, entry["leaf"], entry["leaf"], 7)
    with copies.copy(0) as engine:
        apply(engine, same)
        report = Auditor(ledger.verifier).run(DatabaseSource(engine))
    assert report.ok, report.findings
    assert (report.entries, report.checkpoints) == (120, 3)
    assert report.nodes == len(snap.nodes) > 0


def test_the_triggers_refuse_a_plain_update(ledger: Ledger) -> None:
    """Without bypassing the triggers, changing a stored entry is refused by the database."""
    seed_log(ledger)
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), ledger.engine.begin() as conn:
        conn.execute(sa.text("UPDATE log_entries SET seq = seq + 1000 WHERE idx = 3"))


def _herbtrace(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the installed `herbtrace` command as a real process with exactly `env`."""
    return support.run_herbtrace(args, cwd, environ=env)


def test_verify_command_exits_1_naming_the_first_bad_entry(ledger: Ledger, tmp_path: Path) -> None:
    """`herbtrace verify` exits 0 on the pristine log and 1 naming the tampered entry after."""
    seed_log(ledger)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERBTRACE_")}
    env["HERBTRACE_DATABASE_URL"] = ledger.settings.database_url
    env["HERBTRACE_LOG_ORIGIN"] = ledger.settings.log_origin

    clean = _herbtrace(["verify"], env, tmp_path)
    assert clean.returncode == 0, clean.stderr
    assert "OK" in clean.stdout
    assert "checked 120 entries, 3 checkpoints" in clean.stdout

    snap = Snapshot.read(ledger.engine)
    leaf = snap.entries[57]["leaf"]
    at = leaf.rindex(b'"type":"') + 8  # the first letter of the event type, a signed byte
    changed = leaf[:at] + b"X" + leaf[at + 1 :]
    apply(ledger.engine, Tamper("log_entries", "leaf", 57, leaf, changed, 57))
    tampered = _herbtrace(["verify"], env, tmp_path)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert "FAILED at entry 57:" in tampered.stderr
    assert "Traceback" not in tampered.stderr
