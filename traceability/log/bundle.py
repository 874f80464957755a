"""Audit bundles: the whole log in one file that a regulator verifies offline.

A bundle is UTF-8 JSON Lines (optionally gzip-compressed when the name ends in `.gz`).
The first line is the header; every other line is one record::

    {"format": "herbtrace-bundle/v1", "origin": …, "log_key": <vkey>, "tree_size": N,
     "exported_at": …}
    {"signer": {<SignerInfo.to_json()>}}
    {"checkpoint": {"tree_size": N, "note": <signed note>}}
    {"entry": {"index": I, "leaf": <base64 leaf bytes>}}

Entries appear in index order. Nothing else in the file is trusted: leaf hashes, the tree
and every checkpoint root are recomputed from the leaves, and signer key IDs are
recomputed from their public keys.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import io
import json
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy.engine import Engine

from traceability.errors import InvalidInput
from traceability.log.audit import StoredCheckpointNote
from traceability.log.audit_sources import CHUNK, DatabaseSource
from traceability.log.entry_check import StoredRow
from traceability.log.note import NoteVerifier
from traceability.log.signers import SignerInfo
from traceability.types import KeyID

FORMAT = "herbtrace-bundle/v1"


def _open(path: Path, mode: str) -> IO[str]:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.GzipFile(filename=path, mode=mode + "b"), encoding="utf-8")
    return path.open(mode, encoding="utf-8")


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """Yield a bundle's numbered lines; InvalidInput if it cannot be read (truncated gzip, …)."""
    try:
        with _open(path, "r") as f:
            yield from enumerate(f, start=1)
    except (OSError, EOFError, UnicodeDecodeError, zlib.error) as exc:
        raise InvalidInput(f"{path}: unreadable bundle: {exc}") from exc


def bundle_lines(engine: Engine, verifier: NoteVerifier) -> Iterator[str]:
    """Yield the bundle of the log, as `export_bundle` writes it, a few lines at a time.

    Each item is one or more whole newline-terminated lines (entries come CHUNK at a time),
    so the bundle can be streamed as it is read, e.g. as an HTTP download.
    """
    source = DatabaseSource(engine)
    header = {
        "format": FORMAT,
        "origin": verifier.name,
        "log_key": verifier.to_vkey(),
        "tree_size": source.size(),
        "exported_at": datetime.now(UTC).isoformat(),
    }
    yield json.dumps(header, ensure_ascii=False) + "\n"
    for signer in source.signers().values():
        yield json.dumps({"signer": signer.to_json()}, ensure_ascii=False) + "\n"
    for cp in source.checkpoints():
        yield json.dumps({"checkpoint": {"tree_size": cp.tree_size, "note": cp.note}}) + "\n"
    for chunk in source.entries():
        yield "".join(
            f'{{"entry":{{"index":{index},"leaf":"{base64.b64encode(leaf).decode()}"}}}}\n'
            for index, leaf, *_ in chunk
        )


def export_bundle(engine: Engine, verifier: NoteVerifier, path: Path) -> int:
    """Write the log, its checkpoints and its signers to `path`; return the entry count."""
    count = 0
    with _open(path, "w") as out:
        for text in bundle_lines(engine, verifier):
            out.write(text)
            count += sum(line.startswith('{"entry":') for line in text.splitlines())
    return count


def _signer(data: dict[str, Any]) -> SignerInfo:
    def when(value: object) -> datetime | None:
        if value is None:
            return None
        moment = datetime.fromisoformat(str(value))  # in UTC now, or OverflowError: malformed
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)

    return SignerInfo(
        key_id=KeyID(str(data["key_id"])),
        public_key=bytes.fromhex(str(data["public_key"])),
        name=str(data["name"]),
        organisation=str(data["organisation"]),
        role=str(data["role"]),
        status=str(data["status"]),
        valid_from=when(data["valid_from"]) or datetime.min.replace(tzinfo=UTC),
        valid_until=when(data.get("valid_until")),
        revoked_at=when(data.get("revoked_at")),
    )


class BundleSource:
    """Reads a bundle for the audit; malformed records raise InvalidInput naming the line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.header: dict[str, Any] = {}
        self._signers: dict[str, SignerInfo] = {}
        self._checkpoints: list[StoredCheckpointNote] = []
        self._entries_from = 0
        for number, line in _lines(path):
            record = self._parse(line, number)
            if number == 1:
                if record.get("format") != FORMAT:
                    raise InvalidInput(f"{path}: not a {FORMAT} file")
                size = record.get("tree_size", 0)
                if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                    raise InvalidInput(f"{path}:1: the header's tree_size is not a count")
                self.header = record
            elif "signer" in record:
                try:
                    info = _signer(record["signer"])
                except (KeyError, TypeError, ValueError, OverflowError) as exc:
                    raise InvalidInput(f"{path}:{number}: malformed signer: {exc}") from exc
                self._signers[info.key_id] = info
            elif "checkpoint" in record:
                try:
                    cp = record["checkpoint"]
                    stored = StoredCheckpointNote(int(cp["tree_size"]), None, str(cp["note"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise InvalidInput(f"{path}:{number}: malformed checkpoint: {exc}") from exc
                self._checkpoints.append(stored)
            elif "entry" in record:
                self._entries_from = number
                break
            else:
                raise InvalidInput(f"{path}:{number}: unknown record")
        if not self.header:
            raise InvalidInput(f"{path}: empty bundle")

    def _parse(self, line: str, number: int) -> dict[str, Any]:
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"{self.path}:{number}: not JSON: {exc}") from exc
        if not isinstance(record, dict):
            raise InvalidInput(f"{self.path}:{number}: a record must be a JSON object")
        return record

    def size(self) -> int:
        """The tree size the header claims (the audit counts the entries itself)."""
        return int(self.header.get("tree_size", 0))

    def entries(self) -> Iterator[list[StoredRow]]:
        """Yield the entries in file order, CHUNK at a time."""
        if not self._entries_from:
            return
        chunk: list[StoredRow] = []
        for number, line in _lines(self.path):
            if number < self._entries_from:
                continue
            record = self._parse(line, number).get("entry")
            try:
                index = int(record["index"])  # type: ignore[index]
                leaf = base64.b64decode(record["leaf"], validate=True)  # type: ignore[index]
                chunk.append((index, leaf, None, None, None, None))
            except (KeyError, TypeError, ValueError, binascii.Error) as exc:
                raise InvalidInput(f"{self.path}:{number}: malformed entry: {exc}") from exc
            if len(chunk) == CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    def checkpoints(self) -> list[StoredCheckpointNote]:
        """The checkpoints in the bundle."""
        return self._checkpoints

    def signers(self) -> dict[str, SignerInfo]:
        """The signers in the bundle."""
        return self._signers

    def nodes(self) -> None:
        """A bundle carries no tree nodes: the audit recomputes the tree."""
        return None
