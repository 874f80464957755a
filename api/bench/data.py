"""The lookup benchmark's database: the traced unit's 50-event story among demo background.

The unit is the one `herbtrace bench trace` traces (`traceability/bench/trace_story.py`):
50 signed events from planting to its retail sale, recorded through the Domain service, so
through signature checks, the rules and the indexes. Around it, the next `background`
events of the demo (`herbtrace seed`'s stories: other herbs, organisations, sites, batches,
units, sensor readings, alerts) go through the same path, so the log and index tables the
lookup reads are not trivially small. Then `ANALYZE`, as a deployment would have run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from traceability.bench.trace_story import GTIN, UNIT_SERIAL, record_story
from traceability.demo import seed_events
from traceability.digital_link import DigitalLink
from traceability.domain.service import Domain
from traceability.domain.units import get_unit
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
            batches = conn.exec_driver_sql("SELECT count(*) FROM batches").scalar_one()
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
