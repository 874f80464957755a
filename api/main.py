"""The herbtrace HTTP application: routers, error handlers and the services' lifespan."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.deps import Public
from api.errors import install_error_handlers
from api.routes import (
    alerts,
    batches,
    devices,
    digital_link,
    events,
    handheld,
    health,
    home,
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
from api.services import BrokerAccounts, lifespan
from traceability.facts.records import FactsLookup
from traceability.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
"""Files served as they are under /static: the browser verifier's ES modules and pages."""


def create_app(
    settings: Settings | None = None,
    *,
    facts_lookup: FactsLookup | None = None,
    cache_facts: bool = True,
    broker_accounts: BrokerAccounts | None = None,
) -> FastAPI:
    """Build the app; its lifespan opens the services (`api/services.py`: the domain with
    its rules, indexes and ledger, and what is served with them) and closes them.

    `settings` default to `get_settings()`. `broker_accounts` is where enrolment installs a
    device's broker password and revocation disables it. `cache_facts=False` reads a link's
    facts from the records on every lookup; `facts_lookup` answers lookups instead of the
    records (tests).
    """
    opened = lifespan(
        settings,
        facts_lookup=facts_lookup,
        cache_facts=cache_facts,
        broker_accounts=broker_accounts,
    )
    app = FastAPI(
        title="herbtrace",
        summary="A verifiable traceability log for Chinese medicinal herbs",
        version="0.1.0",
        lifespan=opened,
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
    app.include_router(home.router)
    app.include_router(digital_link.router)
    app.include_router(qr.router)
    app.include_router(scans.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
