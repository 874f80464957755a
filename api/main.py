"""The herbtrace HTTP application: routers, error handlers and the ledger's lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from api.errors import install_error_handlers
from api.routes import health, log
from traceability.ledger import Ledger
from traceability.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; its lifespan opens the ledger (default: `get_settings()`) and closes it."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ledger = await run_in_threadpool(Ledger, settings or get_settings())
        ledger.start_checkpoint_ticker()
        app.state.ledger = ledger
        try:
            yield
        finally:
            del app.state.ledger
            await run_in_threadpool(ledger.close)

    app = FastAPI(
        title="herbtrace",
        summary="A verifiable traceability log for Chinese medicinal herbs",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(log.router)
    return app
