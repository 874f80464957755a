"""The app's services, opened once by its lifespan and injected through one dependency.

`Services` holds everything a route handler may need: the settings, the domain (rules,
indexes and the ledger), the rate limiters, the facts cache, the regulator office, the
HTTPS submitter and, when the deployment manages the broker, its accounts. The lifespan
(`lifespan`) opens it and hands it to Starlette as lifespan state; `ServicesDep` gives it
to a handler, and every other dependency (`LedgerDep`, `EngineDep`, … in `api/deps.py`,
`DomainDep`, `RecallOfficeDep`, … here) is read from it. Tests choose what goes in through
`create_app`'s arguments.

Three services are made on first use (`OnFirstUse`): the regulator office creates and
registers its key, the submitter decrypts the log key, and the facts cache loads the
catalogue; a server that never records a recall, an event or a lookup pays for none of them.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Generic, Protocol, TypeVar

from fastapi import Depends, FastAPI, Request
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.facts_cache import FactsCache, records_cache
from api.ratelimit import Limits
from traceability.domain.recall_office import RecallOffice
from traceability.domain.service import Domain
from traceability.errors import ConfigurationError
from traceability.facts.records import FactsLookup, records_lookup
from traceability.ingest.intake import Intake
from traceability.ledger import Ledger
from traceability.settings import Settings, get_settings

T = TypeVar("T")

STATE_KEY = "services"
"""The name the lifespan state gives the services."""


class BrokerAccounts(Protocol):
    """Where a device's broker credentials go (e.g. `devices.broker.BrokerAccounts`, the
    broker's accounts), given to `create_app` by whoever runs the broker."""

    def set(self, username: str, password: str) -> None: ...

    def remove(self, username: str) -> None: ...


class OnFirstUse(Generic[T]):
    """A service made by `make` the first time it is asked for: once, whichever thread asks."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._made: T | None = None

    @property
    def made(self) -> T | None:
        """The service if it has been made, else None (nothing is made)."""
        return self._made

    def get(self) -> T:
        """The service, made now if it is the first call."""
        made = self._made
        if made is None:
            with self._lock:
                if self._made is None:
                    self._made = self._make()
                made = self._made
        return made

    async def get_async(self) -> T:
        """`get`, making the service in a worker thread (it may do I/O) if it is not made."""
        made = self._made
        return made if made is not None else await run_in_threadpool(self.get)


@dataclass(frozen=True, slots=True)
class Services:
    """What the app serves with, opened by its lifespan (see the module docstring)."""

    settings: Settings
    domain: Domain
    limits: Limits
    facts: OnFirstUse[FactsCache]
    recall_office: OnFirstUse[RecallOffice]
    submitter: OnFirstUse[Intake]
    broker_accounts: BrokerAccounts | None = None

    @property
    def ledger(self) -> Ledger:
        """The domain's ledger (the domain rules are its entry policy)."""
        return self.domain.ledger

    @property
    def engine(self) -> Engine:
        """The database engine of the ledger."""
        return self.domain.engine

    @classmethod
    def open(
        cls,
        settings: Settings,
        *,
        facts_lookup: FactsLookup | None = None,
        cache_facts: bool = True,
        broker_accounts: BrokerAccounts | None = None,
    ) -> Services:
        """Open the domain on `settings` and make the services around it.

        The facts come from the records through the facts cache; with `cache_facts=False`
        every lookup reads the records again, and a `facts_lookup` is asked on every lookup
        instead of the records (tests).
        """
        domain = Domain(settings)
        engine, host = domain.engine, settings.digital_link_host

        def facts() -> FactsCache:
            if facts_lookup is not None:
                return FactsCache(facts_lookup, None, host=host)
            if not cache_facts:
                return FactsCache(records_lookup(engine, settings, 0), None, host=host)
            return records_cache(engine, settings)

        return cls(
            settings=settings,
            domain=domain,
            limits=Limits.from_settings(settings),
            facts=OnFirstUse(facts),
            recall_office=OnFirstUse(partial(RecallOffice, settings, engine)),
            submitter=OnFirstUse(partial(Intake.for_domain, domain)),
            broker_accounts=broker_accounts,
        )

    def close(self) -> None:
        """Close the domain (and with it the ledger and its checkpoint ticker)."""
        self.domain.close()


Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[dict[str, Services]]]


def lifespan(
    settings: Settings | None = None,
    *,
    facts_lookup: FactsLookup | None = None,
    cache_facts: bool = True,
    broker_accounts: BrokerAccounts | None = None,
) -> Lifespan:
    """The app lifespan that opens the services (settings default to `get_settings()`),
    starts the ledger's checkpoint ticker, and closes them at shutdown."""

    @asynccontextmanager
    async def run(_app: FastAPI) -> AsyncIterator[dict[str, Services]]:
        opened = await run_in_threadpool(
            partial(
                Services.open,
                settings or get_settings(),
                facts_lookup=facts_lookup,
                cache_facts=cache_facts,
                broker_accounts=broker_accounts,
            )
        )
        opened.ledger.start_checkpoint_ticker()
        try:
            yield {STATE_KEY: opened}
        finally:
            await run_in_threadpool(opened.close)

    return run


def services_in(state: Mapping[str, Any]) -> Services:
    """The services in a lifespan state; ConfigurationError when the lifespan has not run."""
    found = state.get(STATE_KEY)
    if not isinstance(found, Services):
        raise ConfigurationError("the app's services are not open: its lifespan has not run")
    return found


async def services(request: Request) -> Services:
    """The app's services, for route handlers and the other dependencies.

    Async on purpose, like every dependency read from it: none does I/O, and FastAPI would
    run a plain function in a worker thread.
    """
    return services_in(request.scope.get("state", {}))


ServicesDep = Annotated[Services, Depends(services)]
"""The app's services."""


async def get_domain(services: ServicesDep) -> Domain:
    """The open domain."""
    return services.domain


DomainDep = Annotated[Domain, Depends(get_domain)]
"""The open domain (rules, indexes, ledger), for route handlers."""


async def get_recall_office(services: ServicesDep) -> RecallOffice:
    """The regulator office, creating its key on the first recall."""
    return await services.recall_office.get_async()


RecallOfficeDep = Annotated[RecallOffice, Depends(get_recall_office)]
"""The regulator office that signs recalls for signed-in regulators."""


async def get_submitter(services: ServicesDep) -> Intake:
    """What records an envelope sent over HTTPS and signs its receipt (made on first use)."""
    return await services.submitter.get_async()


SubmitterDep = Annotated[Intake, Depends(get_submitter)]
"""The submitter of envelopes sent over HTTPS."""


async def get_facts_cache(services: ServicesDep) -> FactsCache:
    """The resolver's facts cache (made on the first lookup)."""
    return services.facts.get()


FactsCacheDep = Annotated[FactsCache, Depends(get_facts_cache)]
"""How the resolver finds a link's facts."""


async def get_broker_accounts(services: ServicesDep) -> BrokerAccounts | None:
    """The broker's account store when the deployment gave one, else None."""
    return services.broker_accounts


BrokerAccountsDep = Annotated[BrokerAccounts | None, Depends(get_broker_accounts)]
"""Where enrolment installs a device's broker password, if anywhere."""
