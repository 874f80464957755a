"""The log entries the facts are read from, as typed domain events, kept once decoded.

An entry's envelope payload names its signer and the time it was signed; its body is a
domain event (`schemas.events`). The facts read only entries the domain indexed (events on
a batch, the latest registration of an organisation or a site), and the domain indexes an
entry only once its body has validated, so every body read here validates too.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict
from sqlalchemy.engine import Connection

from schemas.events import EventBody
from traceability.log.entry import Entry
from traceability.log.reading import entries_at
from traceability.types import KeyID


class _Payload(BaseModel):
    """The members of an envelope payload the facts read (the envelope's own checks were made
    when the log accepted it).

    Validated straight from the payload's JSON bytes: half the work of decoding them to
    Python data and validating that.
    """

    model_config = ConfigDict(extra="ignore")

    signer: str
    time: str
    body: EventBody


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """A domain event as logged: its entry's index, who signed it and when, and its body."""

    index: int
    signer: KeyID
    time: str
    """When the signer recorded the event (the envelope's `time`, RFC 3339, UTC)."""
    body: EventBody

    @classmethod
    def of(cls, entry: Entry) -> LoggedEvent:
        """Decode `entry`'s payload; pydantic's ValidationError if its body is no domain event."""
        payload = _Payload.model_validate_json(entry.payload_bytes)
        return cls(entry.index, KeyID(payload.signer), payload.time, payload.body)

    @property
    def day(self) -> str:
        """The date the envelope was signed, YYYY-MM-DD (UTC)."""
        return self.time[:10]


def read_events(conn: Connection, indices: Iterable[int]) -> dict[int, LoggedEvent]:
    """Read and decode the entries at `indices` that are in the log, keyed by index."""
    return {i: LoggedEvent.of(entry) for i, entry in entries_at(conn, indices).items()}


class EntryPayloads:
    """Decoded events of one log's entries by index, the most recently used kept.

    Entries never change (the log is append-only), so an event decoded once stays right: a
    cache miss of the resolver then reads and decodes only the entries it has not seen.
    The events are immutable and shared. Thread-safe.
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._kept: OrderedDict[int, LoggedEvent] = OrderedDict()

    def read(self, conn: Connection, indices: list[int]) -> dict[int, LoggedEvent]:
        """The event of each entry in `indices` (those the log holds)."""
        found: dict[int, LoggedEvent] = {}
        with self._lock:
            for i in indices:
                if (event := self._kept.get(i)) is not None:
                    self._kept.move_to_end(i)
                    found[i] = event
        missing = [i for i in indices if i not in found]
        if missing:
            read = read_events(conn, missing)
            found |= read
            with self._lock:
                self._kept.update(read)
                while len(self._kept) > self.max_entries:
                    self._kept.popitem(last=False)
        return found


def events_at(
    conn: Connection, indices: Iterable[int], kept: EntryPayloads | None
) -> dict[int, LoggedEvent]:
    """The event of each entry in `indices`, from `kept` if given, else decoded anew."""
    return kept.read(conn, list(indices)) if kept is not None else read_events(conn, indices)
