"""The app the lookup benchmark serves: the real API, plus a trivial route as the baseline.

uvicorn builds it in each worker from the environment (`HERBTRACE_*` settings). With
`HERBTRACE_BENCH_FACTS_CACHE=off` the resolver builds the facts from the records on every
request (through the `app.state.facts_lookup` seam, which bypasses the facts cache), for
the cost of a cache miss: log entries once decoded stay decoded, as they do after an
append invalidates the cache.
"""

from __future__ import annotations

import os

from fastapi import FastAPI

from api.main import create_app
from traceability.digital_link import DigitalLink
from traceability.facts.models import ProductFacts
from traceability.facts.records import FactsLookup, records_lookup
from traceability.settings import get_settings

TRIVIAL_PATH = "/bench/trivial"
TRIVIAL_BODY = b'{"status":"ok"}'
CACHE_VARIABLE = "HERBTRACE_BENCH_FACTS_CACHE"


def create_bench_app() -> FastAPI:
    """The API app with `GET /bench/trivial`: no dependency, no database, a constant answer."""
    app = create_app()

    @app.get(TRIVIAL_PATH, include_in_schema=False)
    async def trivial() -> dict[str, str]:
        """Answer at once: what FastAPI and uvicorn cost for a request, and nothing else."""
        return {"status": "ok"}

    if os.environ.get(CACHE_VARIABLE, "on") == "off":
        made: list[FactsLookup] = []

        def recomputed(link: DigitalLink) -> ProductFacts:
            if not made:  # the engine exists once the lifespan has opened the domain
                made.append(records_lookup(app.state.ledger.engine, get_settings()))
            return made[0](link)

        app.state.facts_lookup = recomputed
    return app
