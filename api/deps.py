"""Injectable dependencies of the HTTP layer, as `Annotated` aliases, and the one authoriser.

Every route states who may call it with exactly one of:

* `Public` — anyone; anonymous callers are rate-limited per client IP (`api/ratelimit.py`);
* `require(role, …, owner=lookup)` — a bearer token of one of the roles. For an operator,
  `owner` finds the organisation the request acts for (from the path, the query or the
  stored resource) and the request is refused unless it is the operator's own.
* `require_body(Model, role, …)` — the same, where the JSON body names the organisation:
  the dependency parses the body and hands the handler that very object, so the check and
  the handler read the organisation from one place. Routes that register a key also check
  the key's role against what the organisation's kind may hold.

Admins and regulators act for every organisation. For everyone, a path or query naming an
organisation other than the one the request acts for is refused (422). `decide` is the only
code that decides; handlers never check roles or ownership.

The aliases `SettingsDep`, `LedgerDep`, `EngineDep` and `LimitsDep` are read from the app's
services (`api/services.py: ServicesDep`), like the authoriser's own limits and engine.

Authenticated writes are rate-limited per account, and a client address that keeps
presenting wrong tokens is refused with 429 before its tokens are even looked up
(`api/ratelimit.py`).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any, Protocol, cast

from fastapi import Depends, FastAPI, Request
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.ratelimit import Limits, client_address, enforce, refuse
from api.services import Services, ServicesDep
from traceability.domain.roles import require_key_role
from traceability.errors import (
    ConflictingInput,
    Forbidden,
    InvalidInput,
    Unauthenticated,
)
from traceability.ledger import Ledger
from traceability.settings import Settings
from traceability.users import ROLES, Principal, Role, authenticate


async def get_app_settings(services: ServicesDep) -> Settings:
    """The settings the app's lifespan resolved."""
    return services.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
"""The app's settings, for route handlers."""


async def get_ledger(services: ServicesDep) -> Ledger:
    """The ledger the app's lifespan opened."""
    return services.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]
"""The open ledger, for route handlers."""


async def get_engine(services: ServicesDep) -> Engine:
    """The database engine of the open ledger."""
    return services.engine


EngineDep = Annotated[Engine, Depends(get_engine)]
"""The database engine, for route handlers."""


async def get_limits(services: ServicesDep) -> Limits:
    """The app's rate limiters, made by the lifespan from the settings."""
    return services.limits


LimitsDep = Annotated[Limits, Depends(get_limits)]
"""The app's rate limiters, for route handlers that spend an allowance of their own."""


_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    bearerFormat="htk_ + 43 base64url characters",
    description="A token issued by `herbtrace user token NAME` or POST /v1/users/{name}/tokens",
)


async def optional_principal(request: Request, services: ServicesDep) -> Principal | None:
    """Return the caller's principal, None when anonymous; Unauthenticated for a bad token.

    A bad, unknown, expired or revoked token is refused, never quietly treated as anonymous.
    Each refusal counts against the client's address; past the allowance, 429 comes first.
    """
    header = request.headers.get("authorization")
    if not header:
        return None
    failures = services.limits.auth_failures
    address = client_address(request)
    refuse(failures.wait(address), "with wrong bearer tokens from this address")
    scheme, _, token = header.strip().partition(" ")
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthenticated("the Authorization header must be `Bearer <token>`")
        lifetime = timedelta(days=services.settings.token_lifetime_days)
        return await run_in_threadpool(
            authenticate, services.engine, token.strip(), lifetime=lifetime
        )
    except Unauthenticated:
        failures.take(address)
        raise


async def get_principal(
    request: Request,
    services: ServicesDep,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal | None:
    """`optional_principal`, declaring the bearer scheme in OpenAPI for the routes that need it."""
    return await optional_principal(request, services)


_READS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing; every other authenticated request is limited per account."""

OwnerLookup = Callable[[Request, Engine], Awaitable[str | None]]
"""Finds the organisation a request acts for; None when there is none (or it is unknown)."""

ORGANISATION = "organisation"
"""The name of the organisation a request acts for, in a path, a query or a JSON body."""


class ActsFor(Protocol):
    """A parsed request body that names the organisation the request acts for."""

    @property
    def organisation(self) -> str | None:
        """The organisation, or None for a body that acts for none (e.g. a regulator user)."""


class RegistersKey(ActsFor, Protocol):
    """A parsed request body that registers a key for an organisation, in a signer role."""

    @property
    def role(self) -> str:
        """The signer role the key will hold."""


@dataclass(frozen=True, slots=True)
class Policy:
    """Who may call a route: anyone (`public`), or these roles, operators for their owner.

    The organisation a request acts for comes from exactly one place: the parsed `body`
    model the handler receives (`require_body`), or else `owner` (the path, the query or a
    stored resource). `registers_key` routes also bound the role of the key by the
    organisation's kind (`traceability.domain.roles.KIND_ROLES`).
    """

    roles: frozenset[Role] = frozenset()
    public: bool = False
    owner: OwnerLookup | None = None
    body: type[BaseModel] | None = None
    registers_key: bool = False

    def describe(self) -> str:
        """Say who may call, for documentation: e.g. `admin, regulator, operator (own)`."""
        if self.public:
            return "anyone (anonymous rate-limited)"
        owned = self.owner is not None or self.body is not None
        names = [r + (" (own)" if r == "operator" and owned else "") for r in ROLES]
        return ", ".join(n for r, n in zip(ROLES, names, strict=True) if r in self.roles)


def claimed_organisations(request: Request) -> list[str]:
    """Every organisation the path and the query name (`organisation`), in order."""
    found = [str(v) for v in (request.path_params.get(ORGANISATION),) if v is not None]
    return found + request.query_params.getlist(ORGANISATION)


def _one_organisation(claims: list[str | None]) -> str | None:
    """The one organisation all `claims` name (None when none does); ConflictingInput if two."""
    named = sorted({c for c in claims if c is not None})
    if len(named) > 1:
        raise ConflictingInput(
            "the request names more than one organisation ("
            + ", ".join(named)
            + "); the path, the query and the body must agree on the one it acts for"
        )
    return named[0] if named else None


def _check_key_role(engine: Engine, body: RegistersKey) -> None:
    """Refuse a key whose role the organisation's kind may not hold (one table: roles)."""
    if body.organisation is None:
        raise InvalidInput("a key is registered for an organisation; none was named")
    with engine.connect() as conn:
        require_key_role(conn, body.organisation, body.role)


async def decide(
    policy: Policy,
    request: Request,
    principal: Principal | None,
    body: BaseModel | None,
    services: Services,
) -> Principal | None:
    """Decide whether `principal` may make `request` under `policy` (the only place that does).

    The acting organisation is the parsed body's `organisation` when the route has a body
    policy, else what `policy.owner` finds. Every organisation the path and the query name
    must be that one (422 `conflicting_input` otherwise, for every caller); an operator
    acts only for its own (403).
    """
    if principal is not None and request.method not in _READS:
        account = services.limits.accounts.take(f"user:{principal.user_id}")
        refuse(account, "from this account")
    if policy.public:
        if principal is None:
            enforce(services.limits.public, request)
        return principal
    if principal is None:
        raise Unauthenticated("this request needs a bearer token")
    if principal.role not in policy.roles:
        allowed = ", ".join(r for r in ROLES if r in policy.roles)
        raise Forbidden(f"a {principal.role} may not do this; it needs: {allowed}")
    claims: list[str | None] = list(claimed_organisations(request))
    if policy.body is not None:
        acting = cast(ActsFor, body).organisation
        _one_organisation([acting, *claims])
    elif policy.owner is not None:
        acting = await policy.owner(request, services.engine)
        _one_organisation([acting, *claims])
    else:
        acting = _one_organisation(claims)
    owned = policy.owner is not None or policy.body is not None
    if principal.role == "operator" and owned and acting != principal.organisation:
        raise Forbidden(
            f"operators act only for their own organisation ({principal.organisation})"
            "; this request is not for it"
        )
    if policy.registers_key:
        await run_in_threadpool(_check_key_role, services.engine, cast(RegistersKey, body))
    return principal


def authorize(policy: Policy) -> Callable[..., Awaitable[Any]]:
    """Return the dependency enforcing `policy` through `decide`.

    With `policy.body`, the dependency parses the JSON body as that model and returns the
    parsed object itself: the handler acts on exactly what was authorised.
    """
    # Public routes read the token without declaring the bearer scheme, so OpenAPI does not
    # say that they need one.
    source = optional_principal if policy.public else get_principal

    if policy.body is None:

        async def dependency(
            request: Request,
            services: ServicesDep,
            principal: Principal | None = Depends(source),  # a default: `source` is local here
        ) -> Principal | None:
            return await decide(policy, request, principal, None, services)

        dependency.policy = policy  # type: ignore[attr-defined]  # read by route_policy()
        return dependency

    async def with_body(
        request: Request, services: Services, body: BaseModel, principal: Principal | None
    ) -> Any:
        await decide(policy, request, principal, body, services)
        return body

    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    with_body.__signature__ = inspect.Signature(  # type: ignore[attr-defined]  # for FastAPI
        [
            inspect.Parameter("request", keyword, annotation=Request),
            inspect.Parameter("services", keyword, annotation=ServicesDep),
            inspect.Parameter("body", keyword, annotation=policy.body),
            inspect.Parameter(
                "principal", keyword, default=Depends(source), annotation=Principal | None
            ),
        ]
    )
    with_body.policy = policy  # type: ignore[attr-defined]  # read by route_policy()
    return with_body


def require(*roles: Role, owner: OwnerLookup | None = None) -> Any:
    """Depend on a principal of one of `roles`; operators only where `owner` is theirs."""
    _check_roles(roles)
    if "operator" in roles and owner is None:
        raise ValueError("an operator route must say which organisation it acts for (owner=)")
    return Depends(authorize(Policy(roles=frozenset(roles), owner=owner)))


def require_body(model: type[BaseModel], *roles: Role, registers_key: bool = False) -> Any:
    """Depend on the JSON body parsed as `model` (which has an `organisation` field), once
    a principal of one of `roles` may act for that organisation (operators: their own).

    Use as the handler's body parameter, `device: Annotated[DeviceIn, require_body(…)]`:
    the handler gets the very object that was authorised. `registers_key` also checks the
    body's `role` against what the organisation's kind may hold.
    """
    _check_roles(roles)
    if ORGANISATION not in model.model_fields:
        raise ValueError(f"{model.__name__} has no `{ORGANISATION}` field to act for")
    if registers_key and "role" not in model.model_fields:
        raise ValueError(f"{model.__name__} registers a key but has no `role` field")
    policy = Policy(roles=frozenset(roles), body=model, registers_key=registers_key)
    return Depends(authorize(policy))


def _check_roles(roles: tuple[Role, ...]) -> None:
    if not roles or any(r not in ROLES for r in roles):
        raise ValueError(f"roles must be some of {ROLES}, got {roles}")


Public: Any = Depends(authorize(Policy(public=True)))
"""Anyone may call; anonymous callers are rate-limited. Use in `dependencies=[Public]`."""

CurrentPrincipal = Annotated[Principal, Depends(authorize(Policy(roles=frozenset(ROLES))))]
"""The authenticated caller, whatever its role, for routes about the caller itself (there an
operator acts for no organisation but its own, so no ownership is checked)."""


def organisation_param(name: str = ORGANISATION) -> OwnerLookup:
    """Return an owner lookup reading `name` from the path, else the query.

    Only where the handler reads it too: a JSON body is never consulted (a route whose body
    names the organisation uses `require_body`, so the handler and the check read one
    object). A query naming `name` twice with different values is ConflictingInput.
    """

    async def lookup(request: Request, _engine: Engine) -> str | None:
        value = request.path_params.get(name)
        if value is not None:
            return str(value)
        return _one_organisation(list(request.query_params.getlist(name)))

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
