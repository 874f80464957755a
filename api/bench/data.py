"""The lookup benchmark's database: the traced unit's 50-event story among demo background.

The unit is the one `herbtrace bench trace` traces (`traceability/bench/trace_story.py`):
50 signed events from planting to its retail sale, recorded through the Domain service, so
through signature checks, the rules and the indexes. Around it, the next `background`
events of the demo (`herbtrace seed`'s stories: other herbs, organisations, sites, batches,
units, sensor readings, alerts) go through the same path, so the log and index tables the
lookup reads are not trivially small. Then `ANALYZE`, as a deployment would have run.

The cold phase looks up many units instead (`cold_units`): a seeded sample of every unit
the database holds (the demo packs a hundred or so per batch), in a seeded order that
decides which are popular, and one unit left out of the sample for each batch, which the
benchmark looks up first so that the batches have been scanned before and the units not.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass

import sqlalchemy as sa

from traceability.bench.trace_story import GTIN, UNIT_SERIAL, record_story
from traceability.demo import seed_events
from traceability.digital_link import DigitalLink
from traceability.domain.batches import count_batches
from traceability.domain.service import Domain
from traceability.domain.units import get_unit, unit_keys
from traceability.errors import ConfigurationError
from traceability.ledger import initialise
from traceability.settings import Settings

ORIGIN = "bench.herbtrace/log"


@dataclass(frozen=True)
class LookupData:
    """What the database holds: the unit, its history and the log's size."""

    url: str
    link: DigitalLink
    batch: str
    history: int
    """Log entries on the unit's backward trace."""
    background: int
    log_size: int
    batches: int
    seconds: float

    @property
    def backend(self) -> str:
        """The database's engine as the report names it: SQLite or PostgreSQL."""
        return "SQLite" if sa.make_url(self.url).get_backend_name() == "sqlite" else "PostgreSQL"

    @property
    def path(self) -> str:
        """The unit's Digital Link path on the resolver: /01/{gtin}/10/{lot}/21/{serial}."""
        return self.link.uri("host").removeprefix("https://host")


def build(url: str, background: int) -> LookupData:
    """Initialise the database at `url`, record the unit's story and `background` demo events."""
    settings = Settings(database_url=url, log_origin=ORIGIN)
    initialise(settings)
    start = time.perf_counter()
    with Domain(settings) as domain:
        history = record_story(domain)
        if background:
            refused = [r for r in seed_events(domain, background) if r.status != "accepted"]
            if refused:
                raise ConfigurationError(
                    f"{len(refused)} demo events were refused, e.g. {refused[0].reason}"
                )
        with domain.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            batches = count_batches(conn)
            unit = get_unit(conn, GTIN, UNIT_SERIAL)
        size = domain.ledger.size()
    return LookupData(
        url=url,
        link=DigitalLink(unit.gtin, lot=unit.lot, serial=unit.serial),
        batch=unit.batch,
        history=history,
        background=background,
        log_size=size,
        batches=int(batches),
        seconds=time.perf_counter() - start,
    )


@dataclass(frozen=True)
class ColdUnits:
    """The units of the cold phase, most popular first: their paths and what their
    answers must contain."""

    paths: tuple[str, ...]
    marks: tuple[bytes, ...]
    batches: int
    """Distinct batches the units belong to."""
    primers: tuple[str, ...]
    """The path of one unit left out of the sample for each batch that has one."""
    available: int
    """Units the database holds (the phase uses all of them when asked for more)."""


def cold_units(url: str, count: int, seed: int = 12) -> ColdUnits:
    """`count` units of the database at `url` (all of them if it holds fewer), sampled and
    ordered by `seed`: each with its Digital Link path and its identity as its answer
    writes it (`"gtin":…,"lot":…,"serial":…,"batch":…`)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            rows = unit_keys(conn)
    finally:
        engine.dispose()
    chosen = random.Random(seed).sample(rows, min(count, len(rows)))  # noqa: S311 - a sample
    left = set(rows) - set(chosen)
    primers = {row[3]: _path(*row[:3]) for row in sorted(left, reverse=True)}
    paths, marks = [], []
    for gtin, lot, serial, batch in chosen:
        paths.append(_path(gtin, lot, serial))
        identity = {"gtin": gtin, "lot": lot, "serial": serial, "batch": batch}
        marks.append(json.dumps(identity, separators=(",", ":"), ensure_ascii=False)[1:-1])
    return ColdUnits(
        paths=tuple(paths),
        marks=tuple(m.encode() for m in marks),
        batches=len({row[3] for row in chosen}),
        available=len(rows),
        primers=tuple(primers.values()),
    )


def _path(gtin: str, lot: str, serial: str) -> str:
    """A unit's Digital Link path on the resolver."""
    return DigitalLink(gtin, lot=lot, serial=serial).uri("host").removeprefix("https://host")
