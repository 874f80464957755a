"""The herbtrace HTTP application: routers, error handlers and the ledger's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from api.deps import Public
from api.errors import install_error_handlers
from api.ratelimit import Limits
from api.routes import (
    alerts,
    batches,
    devices,
    digital_link,
    events,
    handheld,
    health,
    log,
    organisations,
    proofs,
    qr,
    recalls,
    regulator,
    scans,
    sites,
    users,
)
from api.security_headers import install_security
from traceability.domain.service import Domain
from traceability.settings import Settings, get_settings

STATIC_DIR = Path(__file__).parent / "static"
"""Files served as they are under /static: the browser verifier's ES modules and pages."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; its lifespan opens the domain (rules, indexes and the ledger; settings
    default to `get_settings()`) and closes it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        resolved = settings or get_settings()
        domain = await run_in_threadpool(Domain, resolved)
        ledger = domain.ledger  # the domain rules are its entry policy
        ledger.start_checkpoint_ticker()
        app.state.settings = resolved
        app.state.limits = Limits.from_settings(resolved)
        app.state.ledger = ledger
        app.state.domain = domain
        try:
            yield
        finally:
            del app.state.ledger
            del app.state.domain
            await run_in_threadpool(domain.close)

    app = FastAPI(
        title="herbtrace",
        summary="A verifiable traceability log for Chinese medicinal herbs",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # served by install_security, from this origin only
        redoc_url=None,
    )
    install_error_handlers(app)
    install_security(app)
    app.include_router(health.router, dependencies=[Public])
    app.include_router(log.router, dependencies=[Public])
    app.include_router(proofs.router, dependencies=[Public])
    app.include_router(batches.router, dependencies=[Public])
    app.include_router(batches.signed_in_router)
    app.include_router(events.router, dependencies=[Public])
    app.include_router(handheld.router, dependencies=[Public])
    app.include_router(users.router)
    app.include_router(alerts.router)
    app.include_router(recalls.router)
    app.include_router(regulator.router)  # each route states its own policy
    app.include_router(organisations.router)
    app.include_router(sites.router)
    app.include_router(devices.router)
    app.include_router(digital_link.router)
    app.include_router(qr.router)
    app.include_router(scans.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
