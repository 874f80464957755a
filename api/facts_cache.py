"""The resolver's cache: each link's facts and their public JSON, reused while they hold.

What the records say about a batch or unit is a function of the log: every change to it — a
new event on the batch or upstream of it, a sale, a recall, an organisation or site
registered again — is a new log entry, committed in the same transaction as the index rows
it changes, and a signer's name and organisation never change once registered. So facts
read when the log held N entries stay right until it holds more, and then until an entry
from N on touches what they were read from. Each lookup first reads the log's size (one
statement on the primary key) — unless nothing is kept for the link: then the lookup reads
the size itself, first, in the transaction that reads the facts (one hand-off to a worker
thread, one statement fewer: on PostgreSQL each is a round trip). Facts kept under that
size are a hit. Facts kept under a smaller size are checked (`unchanged`, one statement:
any entry since on the unit's lineage, any organisation or site registered again?) and, if
nothing touched them, kept under the new size; otherwise read again. Because the size is
read before the check and the facts, facts kept under a size are never older than it. Any
process appending to the same database (the ingest gateway, another API process) is seen
the same way, so devices recording all day do not empty the cache of every product they
have nothing to do with.

Beneath it, the records lookup keeps facts by what they depend on: each packed batch's
lineage facts, shared by all the units of the batch, checked the same way
(`traceability.facts.records`). A link kept here is its answer, ready to send; a unit
nobody has looked up before, whose batch was, costs two rows and its own view.

Kept: up to `max_entries` links, least recently used dropped first. Not kept: links that
name nothing (NotFound), and the facts of a lookup given to `create_app` (tests) or of
an app made with `cache_facts=False` (the benchmark's uncached figure), which are looked
up anew on every request.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from traceability.digital_link import DigitalLink
from traceability.facts.models import ProductFacts, PublicFacts
from traceability.facts.public import consumer_view
from traceability.facts.records import FactsLookup, records_lookup, unchanged_since
from traceability.log.reading import log_size_of
from traceability.settings import Settings

MAX_ENTRIES = 4096
"""Links kept; an entry is its answer's JSON, about 10 kB for a 50-event history."""

_LinkKey = tuple[str, str | None, str | None]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A link's consumer view (`consumer_view` of its facts) as read at log size `size`
    (-1: not kept).

    Only the view's JSON is kept — UTF-8, compact, members in the model's order; about
    10 kB for a 50-event history, a sixteenth of the models it is made from — and the
    model is parsed back from it when a page is rendered.
    """

    size: int
    public_json: bytes
    lineage: tuple[str, ...] = ()
    """The batches the facts were read from (ProductFacts.lineage)."""

    @classmethod
    def of(cls, size: int, facts: ProductFacts, uri: str) -> Resolved:
        """Make the consumer view of `facts` under `uri`, as JSON."""
        view = consumer_view(facts, uri).model_dump_json().encode()
        return cls(size, view, tuple(facts.lineage))

    def public(self) -> PublicFacts:
        """The consumer view, parsed from the JSON."""
        return PublicFacts.model_validate_json(self.public_json)


class FactsCache:
    """Resolves links to facts, reusing what it read while the log size stays the same.

    `lookup` reads the facts; `log_size` returns the log's current size, or is None to
    keep nothing (every call looks up anew); `unchanged(since, lineage)` tells whether kept
    facts still hold at the current size (None: facts kept under a smaller size are read
    again). `sized`, if given, reads a link's facts together with the log size they were
    read at (`SizedFactsLookup.sized`), for links with nothing kept: their size need not be
    read apart. `host` is the Digital Link host of the URIs.
    With `inline_size`, `resolve` reads the size on the event loop's own thread (SQLite: a
    few microseconds from a local file, less than handing the call to a worker thread);
    otherwise (a database server: a network round trip) in a worker thread. Facts are
    always read in a worker thread. Thread-safe: concurrent misses for one link may each
    look it up; the newest is kept.
    """

    def __init__(
        self,
        lookup: FactsLookup,
        log_size: Callable[[], int] | None,
        *,
        host: str,
        inline_size: bool = False,
        max_entries: int = MAX_ENTRIES,
        unchanged: Callable[[int, Sequence[str]], bool] | None = None,
        sized: Callable[[DigitalLink], tuple[int, ProductFacts]] | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.lookup = lookup
        self.host = host
        self.inline_size = inline_size
        self.max_entries = max_entries
        self._log_size = log_size
        self._unchanged = unchanged
        self._sized = sized
        self._lock = threading.Lock()
        self._entries: OrderedDict[_LinkKey, Resolved] = OrderedDict()
        self.hits = 0
        self.misses = 0
        self.renewed = 0
        """Lookups answered by facts kept under a smaller log size, checked unchanged."""

    async def resolve(self, link: DigitalLink) -> Resolved:
        """Return the facts of `link`, current as of this call; NotFound if nothing is recorded."""
        if self._log_size is None:
            return await run_in_threadpool(self._read, link, -1)
        kept = self._kept(link)
        if kept is None and self._sized is not None:
            self.misses += 1
            return await run_in_threadpool(self._read_sized, link)
        size = await self._query(self._log_size)
        if kept is not None and kept.size == size:
            self.hits += 1
            return kept
        if (
            kept is not None
            and kept.size < size
            and kept.lineage
            and self._unchanged is not None
            and await self._query(self._unchanged, kept.size, kept.lineage)
        ):
            self.renewed += 1
            return self._keep(link, replace(kept, size=size))
        self.misses += 1
        return await run_in_threadpool(self._read, link, size)

    async def _query(self, statement: Callable[..., T], *args: Any) -> T:
        """Run one small database statement: on the event loop's thread with `inline_size`,
        else in a worker thread."""
        if self.inline_size:
            return statement(*args)
        return await run_in_threadpool(statement, *args)

    def _kept(self, link: DigitalLink) -> Resolved | None:
        """The entry kept for `link`, if there is one (marked as the most recently used)."""
        key: _LinkKey = (link.gtin, link.lot, link.serial)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def _read(self, link: DigitalLink, size: int) -> Resolved:
        """Look the facts up (the size was read before: see the module docstring); keep them."""
        made = Resolved.of(size, self.lookup(link), link.uri(self.host))
        return made if size < 0 else self._keep(link, made)

    def _read_sized(self, link: DigitalLink) -> Resolved:
        """Look the facts up with the size they were read at (`sized`); keep them."""
        assert self._sized is not None  # noqa: S101 - called only when it is given
        size, facts = self._sized(link)
        return self._keep(link, Resolved.of(size, facts, link.uri(self.host)))

    def _keep(self, link: DigitalLink, made: Resolved) -> Resolved:
        """Keep `made` for `link` unless newer facts are kept already; return `made`."""
        key: _LinkKey = (link.gtin, link.lot, link.serial)
        with self._lock:
            current = self._entries.get(key)
            if current is None or current.size <= made.size:
                self._entries[key] = made
                self._entries.move_to_end(key)
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
        return made

    def __len__(self) -> int:
        return len(self._entries)


def records_cache(engine: Engine, settings: Settings) -> FactsCache:
    """The facts cache over the records in `engine`'s database, kept while the log stays
    the same size or grows without touching them (see the module docstring)."""
    lookup = records_lookup(engine, settings)
    return FactsCache(
        lookup,
        lambda: log_size_of(engine),
        host=settings.digital_link_host,
        inline_size=engine.dialect.name == "sqlite",
        unchanged=lambda since, lineage: unchanged_since(engine, since, lineage),
        sized=lookup.sized,
    )
