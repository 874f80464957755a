"""The domain services the app's lifespan opens, as injectable dependencies for route handlers."""

from __future__ import annotations

import threading
from typing import Annotated, Protocol

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from traceability.domain.recall_office import RecallOffice
from traceability.domain.service import Domain
from traceability.errors import ConfigurationError

_office_lock = threading.Lock()


class BrokerAccounts(Protocol):
    """Where a device's broker credentials go (e.g. `devices.broker.BrokerAccounts`, the
    broker's accounts); set as `app.state.broker_accounts` by whoever runs the broker."""

    def set(self, username: str, password: str) -> None: ...

    def remove(self, username: str) -> None: ...


def get_domain(request: Request) -> Domain:
    """Return the domain the app's lifespan opened; ConfigurationError before it ran."""
    domain = getattr(request.app.state, "domain", None)
    if not isinstance(domain, Domain):
        raise ConfigurationError("the domain is not open: the app's lifespan has not run")
    return domain


DomainDep = Annotated[Domain, Depends(get_domain)]
"""The open domain (rules, indexes, ledger), for route handlers."""


async def get_recall_office(request: Request) -> RecallOffice:
    """Return the regulator office, creating its key on the first recall."""
    office = getattr(request.app.state, "recall_office", None)
    if isinstance(office, RecallOffice):
        return office
    domain = get_domain(request)

    def create() -> RecallOffice:
        with _office_lock:
            existing = getattr(request.app.state, "recall_office", None)
            if isinstance(existing, RecallOffice):
                return existing
            made = RecallOffice(domain.settings, domain.engine)
            request.app.state.recall_office = made
            return made

    return await run_in_threadpool(create)


RecallOfficeDep = Annotated[RecallOffice, Depends(get_recall_office)]
"""The regulator office that signs recalls for signed-in regulators."""


def get_broker_accounts(request: Request) -> BrokerAccounts | None:
    """Return the broker's account store when the deployment set one, else None."""
    accounts: BrokerAccounts | None = getattr(request.app.state, "broker_accounts", None)
    return accounts


BrokerAccountsDep = Annotated[BrokerAccounts | None, Depends(get_broker_accounts)]
"""Where enrolment installs a device's broker password, if anywhere."""
