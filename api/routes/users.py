"""API users and their bearer tokens: who am I, list and create users, issue and revoke tokens."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from api.deps import (
    CurrentPrincipal,
    EngineDep,
    SettingsDep,
    organisation_param,
    require,
    require_body,
)
from api.errors import error_responses
from api.pagination import MAX_ID, After, Limit, Page, page_of
from traceability.domain.organisations import get_organisation
from traceability.errors import InvalidInput, NotFound
from traceability.settings import Settings
from traceability.users import (
    Principal,
    Role,
    TokenInfo,
    UserInfo,
    create_user,
    get_user,
    issue_token,
    list_tokens,
    list_users,
    revoke_token,
    rotate_token,
)

router = APIRouter(tags=["users"])

UserName = Annotated[str, Path(min_length=1, max_length=64, description="the user's login name")]
OrganisationId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]

_AUTH_ERRORS = error_responses(401, 403)


class PrincipalOut(BaseModel):
    """The caller: its user and the token it presented."""

    name: str = Field(examples=["wang.fang"])
    role: Role
    organisation: str | None = Field(examples=["org-fusong-coop"])
    token_id: int = Field(description="ID of the token this request carried", examples=[7])


class UserIn(BaseModel):
    """A new user; `organisation` is required for operators and refused for other roles."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "wang.fang", "role": "operator", "organisation": "org-fusong-coop"}
            ]
        },
    )

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$", description="login name")
    role: Role
    organisation: OrganisationId | None = None


class UserOut(BaseModel):
    """A user as stored."""

    id: int = Field(examples=[3])
    name: str = Field(examples=["wang.fang"])
    role: Role
    organisation: str | None = Field(examples=["org-fusong-coop"])
    created_at: datetime


class TokenIn(BaseModel):
    """What a new token is for."""

    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=200, examples=["packing line 2 handheld"])


class TokenOut(BaseModel):
    """A token's record; the token itself is never stored, so never shown again."""

    id: int = Field(examples=[7])
    user: str = Field(examples=["wang.fang"])
    label: str = Field(examples=["packing line 2 handheld"])
    created_at: datetime
    expires_at: datetime = Field(
        description="when it stops working: issued plus HERBTRACE_TOKEN_LIFETIME_DAYS"
    )
    revoked_at: datetime | None


class IssuedTokenOut(BaseModel):
    """A new token: `token` is shown this once; keep it secret."""

    token: str = Field(
        description="send as `Authorization: Bearer <token>`",
        examples=["htk_Yl8uG7-2v0gqDZmPzX1cJt4hN6aQeR3sK9wLb5yTfUo"],
    )
    info: TokenOut


def _user_out(user: UserInfo) -> UserOut:
    return UserOut(
        id=user.id,
        name=user.name,
        role=user.role,
        organisation=user.organisation,
        created_at=user.created_at,
    )


def _token_out(token: TokenInfo, settings: Settings) -> TokenOut:
    return TokenOut(
        id=token.id,
        user=token.user,
        label=token.label,
        created_at=token.created_at,
        expires_at=token.created_at + timedelta(days=settings.token_lifetime_days),
        revoked_at=token.revoked_at,
    )


async def user_organisation(request: Request, engine: Engine) -> str | None:
    """Owner lookup: the organisation of the user named in the path (None if unknown)."""
    try:
        user = await run_in_threadpool(get_user, engine, request.path_params["name"])
    except NotFound:
        return None
    return user.organisation


@router.get("/v1/me", responses=_AUTH_ERRORS)
def read_me(principal: CurrentPrincipal) -> PrincipalOut:
    """Return who the bearer token stands for."""
    return PrincipalOut(
        name=principal.name,
        role=principal.role,
        organisation=principal.organisation,
        token_id=principal.token_id,
    )


@router.delete("/v1/me/token", responses=_AUTH_ERRORS)
def revoke_my_token(
    principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep
) -> TokenOut:
    """Revoke the token this request carries (sign out); it stops working at once."""
    return _token_out(revoke_token(engine, principal.token_id), settings)


@router.post("/v1/me/token", status_code=201, responses=error_responses(401, 429))
def rotate_my_token(
    principal: CurrentPrincipal, engine: EngineDep, settings: SettingsDep
) -> IssuedTokenOut:
    """Rotate the token this request carries: answer a new one (shown this once, same
    label, a full lifetime ahead) and revoke the presented one at once, with no overlap."""
    issued = rotate_token(engine, principal.token_id)
    return IssuedTokenOut(token=issued.token, info=_token_out(issued.info, settings))


@router.get("/v1/users", responses=error_responses(401, 403, 422))
def read_users(
    _principal: Annotated[
        Principal, require("admin", "regulator", "operator", owner=organisation_param())
    ],
    engine: EngineDep,
    organisation: Annotated[
        str | None, Query(max_length=64, description="only this organisation's users")
    ] = None,
    after: After = 0,
    limit: Limit = 50,
) -> Page[UserOut]:
    """List users by ID; operators must name their own organisation."""
    rows = list_users(engine, organisation=organisation, after=after, limit=limit + 1)
    return page_of(rows, limit, lambda u: u.id, _user_out)


@router.post("/v1/users", status_code=201, responses=error_responses(400, 401, 403, 409, 422))
def add_user(engine: EngineDep, user: Annotated[UserIn, require_body(UserIn, "admin")]) -> UserOut:
    """Create a user (admins only); 400 when an operator's organisation is not registered."""
    if user.organisation is not None:
        try:
            with engine.connect() as conn:
                get_organisation(conn, user.organisation)
        except NotFound as exc:
            raise InvalidInput(f"organisation {user.organisation} is not registered") from exc
    return _user_out(create_user(engine, user.name, user.role, user.organisation))


@router.get("/v1/users/{name}", responses=error_responses(401, 403, 404, 422))
def read_user(
    _principal: Annotated[
        Principal, require("admin", "regulator", "operator", owner=user_organisation)
    ],
    engine: EngineDep,
    name: UserName,
) -> UserOut:
    """Return one user; operators see only their own organisation's."""
    return _user_out(get_user(engine, name))


@router.get("/v1/users/{name}/tokens", responses=error_responses(401, 403, 404, 422))
def read_tokens(
    _principal: Annotated[Principal, require("admin")],
    engine: EngineDep,
    settings: SettingsDep,
    name: UserName,
    after: After = 0,
    limit: Limit = 50,
) -> Page[TokenOut]:
    """List a user's tokens, revoked ones too, never the secrets (admins only)."""
    rows = list_tokens(engine, name, after=after, limit=limit + 1)
    return page_of(rows, limit, lambda t: t.id, lambda t: _token_out(t, settings))


@router.post(
    "/v1/users/{name}/tokens", status_code=201, responses=error_responses(401, 403, 404, 422)
)
def add_token(
    _principal: Annotated[Principal, require("admin")],
    engine: EngineDep,
    settings: SettingsDep,
    name: UserName,
    token: TokenIn,
) -> IssuedTokenOut:
    """Issue a token for a user (admins only); the response is the only time it is shown."""
    issued = issue_token(engine, name, token.label)
    return IssuedTokenOut(token=issued.token, info=_token_out(issued.info, settings))


@router.delete("/v1/tokens/{token_id}", responses=error_responses(401, 403, 404, 422))
def delete_token(
    _principal: Annotated[Principal, require("admin")],
    engine: EngineDep,
    settings: SettingsDep,
    token_id: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> TokenOut:
    """Revoke a token by ID (admins only); revoking twice keeps the first revocation time."""
    return _token_out(revoke_token(engine, token_id), settings)
