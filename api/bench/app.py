"""The app the lookup benchmark serves: the real API, plus a trivial route as the baseline.

uvicorn builds it in each worker from the environment (`HERBTRACE_*` settings). With
`HERBTRACE_BENCH_FACTS_CACHE=off` the resolver builds the facts from the records on every
request (`create_app(cache_facts=False)`, which bypasses the facts cache), for the cost of
a cache miss: log entries once decoded stay decoded, as they do after an append
invalidates the cache.
"""

from __future__ import annotations

import gc
import os

from fastapi import FastAPI

from api.main import create_app

TRIVIAL_PATH = "/bench/trivial"
TRIVIAL_BODY = b'{"status":"ok"}'
CACHE_VARIABLE = "HERBTRACE_BENCH_FACTS_CACHE"


def create_bench_app() -> FastAPI:
    """The API app with `GET /bench/trivial`: no dependency, no database, a constant answer.

    As `herbtrace serve`'s app (`api.cli.served_app`), the objects made until then are left
    out of the garbage collector's passes."""
    app = create_app(cache_facts=os.environ.get(CACHE_VARIABLE, "on") != "off")

    @app.get(TRIVIAL_PATH, include_in_schema=False)
    async def trivial() -> dict[str, str]:
        """Answer at once: what FastAPI and uvicorn cost for a request, and nothing else."""
        return {"status": "ok"}

    gc.freeze()
    return app
