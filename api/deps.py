"""Injectable dependencies of the HTTP layer, as `Annotated` aliases, and the one authoriser.

Every route states who may call it with exactly one of:

* `Public` — anyone; anonymous callers are rate-limited per client IP (`api/ratelimit.py`);
* `require(role, …, owner=lookup)` — a bearer token of one of the roles. For an operator,
  `owner` finds the organisation the request acts for (from the path, the query, the JSON
  body or the stored resource) and the request is refused unless it is the operator's own.
  Admins and regulators act for every organisation.

`authorize` is the only code that decides; handlers never check roles or ownership.

Authenticated writes are rate-limited per account, and a client address that keeps
presenting wrong tokens is refused with 429 before its tokens are even looked up
(`api/ratelimit.py`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from json import JSONDecodeError
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.product_facts import FactsLookup
from api.ratelimit import Limits, TokenBuckets, client_address, enforce, refuse
from api.record_facts import records_lookup
from traceability.errors import ConfigurationError, Forbidden, Unauthenticated
from traceability.ledger import Ledger
from traceability.settings import Settings
from traceability.users import ROLES, Principal, Role, authenticate


def get_ledger(request: Request) -> Ledger:
    """Return the ledger the app's lifespan opened; ConfigurationError if it is not open."""
    ledger = getattr(request.app.state, "ledger", None)
    if not isinstance(ledger, Ledger):
        raise ConfigurationError("the ledger is not open: the app's lifespan has not run")
    return ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
"""The open ledger, for route handlers."""


def get_engine(request: Request) -> Engine:
    """Return the database engine of the open ledger."""
    return get_ledger(request).engine


EngineDep = Annotated[Engine, Depends(get_engine)]
"""The database engine, for route handlers."""


def get_app_settings(request: Request) -> Settings:
    """Return the settings the app's lifespan resolved; ConfigurationError before it ran."""
    settings = getattr(request.app.state, "settings", None)
    if not isinstance(settings, Settings):
        raise ConfigurationError("the settings are not loaded: the app's lifespan has not run")
    return settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
"""The app's settings, for route handlers."""


def get_facts_lookup(request: Request) -> FactsLookup:
    """Return how the resolver finds facts: `app.state.facts_lookup`, else the records."""
    lookup: FactsLookup | None = getattr(request.app.state, "facts_lookup", None)
    return lookup or records_lookup(get_engine(request), get_app_settings(request))


def get_limits(request: Request) -> Limits:
    """Return the app's rate limiters, made by the lifespan from the settings."""
    limits = getattr(request.app.state, "limits", None)
    if not isinstance(limits, Limits):
        raise ConfigurationError("the rate limiter is not set up: the app's lifespan has not run")
    return limits


def get_rate_limiter(request: Request) -> TokenBuckets:
    """Return the app's per-client token buckets of anonymous calls."""
    return get_limits(request).public


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="htk_ + 43 base64url characters",
    description="A token issued by `herbtrace user token NAME` or POST /v1/users/{name}/tokens",
)


async def optional_principal(request: Request) -> Principal | None:
    """Return the caller's principal, None when anonymous; Unauthenticated for a bad token.

    A bad, unknown, expired or revoked token is refused, never quietly treated as anonymous.
    Each refusal counts against the client's address; past the allowance, 429 comes first.
    """
    header = request.headers.get("authorization")
    if not header:
        return None
    failures = get_limits(request).auth_failures
    address = client_address(request)
    refuse(failures.wait(address), "with wrong bearer tokens from this address")
    scheme, _, token = header.strip().partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be `Bearer <token>`")
        lifetime = timedelta(days=get_app_settings(request).token_lifetime_days)
        return await run_in_threadpool(
            authenticate, get_engine(request), token.strip(), lifetime=lifetime
        )
    except Unauthenticated:
        failures.take(address)
        raise


async def get_principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """`optional_principal`, declaring the bearer scheme in OpenAPI for the routes that need it."""
    return await optional_principal(request)


_READS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing; every other authenticated request is limited per account."""

OwnerLookup = Callable[[Request, Engine], Awaitable[str | None]]
"""Finds the organisation a request acts for; None when there is none (or it is unknown)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Who may call a route: anyone (`public`), or these roles, operators for their owner."""

    roles: frozenset[Role] = frozenset()
    public: bool = False
    owner: OwnerLookup | None = None

    def describe(self) -> str:
        """Say who may call, for documentation: e.g. `admin, regulator, operator (own)`."""
        if self.public:
            return "anyone (anonymous rate-limited)"
        names = [r + (" (own)" if r == "operator" and self.owner else "") for r in ROLES]
        return ", ".join(n for r, n in zip(ROLES, names, strict=True) if r in self.roles)


def authorize(policy: Policy) -> Callable[..., Awaitable[Principal | None]]:
    """Return the dependency enforcing `policy` (the only place access is decided)."""

    async def check(request: Request, principal: Principal | None) -> Principal | None:
        if principal is not None and request.method not in _READS:
            account = get_limits(request).accounts.take(f"user:{principal.user_id}")
            refuse(account, "from this account")
        if policy.public:
            if principal is None:
                enforce(get_rate_limiter(request), request)
            return principal
        if principal is None:
            raise Unauthenticated("this request needs a bearer token")
        if principal.role not in policy.roles:
            allowed = ", ".join(r for r in ROLES if r in policy.roles)
            raise Forbidden(f"a {principal.role} may not do this; it needs: {allowed}")
        if principal.role == "operator" and policy.owner is not None:
            owner = await policy.owner(request, get_engine(request))
            if owner is None or owner != principal.organisation:
                raise Forbidden(
                    f"operators act only for their own organisation ({principal.organisation})"
                    "; this request is not for it"
                )
        return principal

    # Public routes read the token without declaring the bearer scheme, so OpenAPI does not
    # say that they need one.
    source = optional_principal if policy.public else get_principal

    async def dependency(
        request: Request,
        principal: Principal | None = Depends(source),  # a default: `source` is local here
    ) -> Principal | None:
        return await check(request, principal)

    dependency.policy = policy  # type: ignore[attr-defined]  # read by route_policy()
    return dependency


def require(*roles: Role, owner: OwnerLookup | None = None) -> Any:
    """Depend on a principal of one of `roles`; operators only where `owner` is theirs."""
    if not roles or any(r not in ROLES for r in roles):
        raise ValueError(f"roles must be some of {ROLES}, got {roles}")
    if "operator" in roles and owner is None:
        raise ValueError("an operator route must say which organisation it acts for (owner=)")
    return Depends(authorize(Policy(roles=frozenset(roles), owner=owner)))


Public: Any = Depends(authorize(Policy(public=True)))
"""Anyone may call; anonymous callers are rate-limited. Use in `dependencies=[Public]`."""

CurrentPrincipal = Annotated[Principal, Depends(authorize(Policy(roles=frozenset(ROLES))))]
"""The authenticated caller, whatever its role, for routes about the caller itself (there an
operator acts for no organisation but its own, so no ownership is checked)."""


def organisation_param(name: str = "organisation") -> OwnerLookup:
    """Return an owner lookup reading `name` from the path, else the query, else the JSON body."""

    async def lookup(request: Request, _engine: Engine) -> str | None:
        value = request.path_params.get(name) or request.query_params.get(name)
        if value is None and request.headers.get("content-type", "").startswith("application/json"):
            try:
                body = await request.json()
            except (JSONDecodeError, UnicodeDecodeError):
                return None
            value = body.get(name) if isinstance(body, dict) else None
        return value if isinstance(value, str) else None

    return lookup


def route_policy(route: APIRoute | RouteContext) -> Policy | None:
    """Return the Policy a route is guarded by, found among its dependencies (for docs, tests)."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        policy = getattr(dependant.call, "policy", None)
        if isinstance(policy, Policy):
            return policy
        pending.extend(dependant.dependencies)
    return None


def route_policies(app: FastAPI) -> dict[tuple[str, str], Policy | None]:
    """Return every API route of `app` as (method, path) with the Policy guarding it."""
    found: dict[tuple[str, str], Policy | None] = {}
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute):
            for method in sorted(context.methods or ()):
                found[(method, str(context.path))] = route_policy(context)
    return found
