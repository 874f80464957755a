"""API users and their bearer tokens: create users, issue, revoke and authenticate tokens.

A user is an admin, an organisation's operator, or a regulator. Operators act only for
their own organisation (its domain ID, e.g. `org-fusong-coop`); admins and regulators belong
to none.

Token layout (ASCII, 47 characters)::

    token      = "htk_" || base64url_nopad( 32 bytes from the OS CSPRNG )   -- 4 + 43 chars
    token_hash = SHA-256( token as ASCII bytes )                             -- 32 bytes, stored

The token is shown once, when issued; the database keeps only `token_hash`. The prefix lets
secret scanners and people recognise a herbtrace token.

A token authenticates for a lifetime after it was issued (HERBTRACE_TOKEN_LIFETIME_DAYS, 90
days by default), then gets 401 like a revoked one. Rotation issues a new token and revokes
the old one in the same transaction, with no overlap: whoever rotates holds the new token
the moment the old one stops working (`rotate_token`).

Why one fast SHA-256 and not a slow password hash (bcrypt, scrypt, Argon2): slow hashes
exist to make guessing *low-entropy* secrets such as passwords expensive after a database
leak. A token carries 256 bits from the CSPRNG; even at 10^12 guesses a second, finding
any preimage takes about 2^216 years, so slowing each guess gains nothing.

A fast hash still means a stolen `api_tokens` table reveals no usable token, and it lets
every request authenticate with one indexed equality look-up on `token_hash`, without
spending ~100 ms of CPU per request (which would hand anyone a cheap denial of service).
Looking up by the hash leaks nothing useful through timing either: an attacker can only
learn about hashes of tokens it chose itself.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from traceability.errors import AlreadyExists, InvalidInput, NotFound, Unauthenticated
from traceability.storage import tables
from traceability.storage.db import WRITE

_users = tables.users
_tokens = tables.api_tokens

Role = Literal["admin", "operator", "regulator"]
ROLES: tuple[Role, ...] = get_args(Role)

TOKEN_PREFIX = "htk_"  # noqa: S105 - a public marker, not a secret
TOKEN_BYTES = 32
TOKEN_LENGTH = len(TOKEN_PREFIX) + 43  # base64url of 32 bytes, without padding
_TOKEN_SHAPE = re.compile(rf"^{TOKEN_PREFIX}[A-Za-z0-9_-]{{43}}$")

USER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
"""A user's login name: lower-case ASCII, 1–64 characters."""
ORGANISATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
"""An organisation's domain ID (the `Identifier` of schemas.events.common)."""


@dataclass(frozen=True, slots=True)
class UserInfo:
    """A user as stored."""

    id: int
    name: str
    role: Role
    organisation: str | None
    created_at: datetime

    def to_json(self) -> dict[str, Any]:
        """Return the user as JSON data (times in RFC 3339)."""
        return {
            "id": self.id,
            "name": self.name,
            "role": self.role,
            "organisation": self.organisation,
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token's public record: everything but the token itself, which is never stored."""

    id: int
    user: str
    label: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A newly issued token: `token` is the secret, shown this once."""

    token: str
    info: TokenInfo


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the authenticated user and the token it presented."""

    user_id: int
    name: str
    role: Role
    organisation: str | None
    token_id: int


@contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes.

    On SQLite it takes the write lock up front (BEGIN IMMEDIATE), so a read followed by a
    write never fails on a snapshot another writer made stale.
    """
    with engine.connect() as raw:
        conn = raw.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


def hash_token(token: str) -> bytes:
    """Return SHA-256 of the token's ASCII bytes: the only form the database keeps."""
    return hashlib.sha256(token.encode("ascii")).digest()


def new_token() -> str:
    """Return a fresh token: the prefix and 32 CSPRNG bytes in unpadded base64url."""
    raw = secrets.token_bytes(TOKEN_BYTES)
    return TOKEN_PREFIX + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _user(row: sa.Row[Any]) -> UserInfo:
    m = row._mapping
    return UserInfo(
        id=int(m["id"]),
        name=m["name"],
        role=m["role"],
        organisation=m["organisation"],
        created_at=_utc(m["created_at"]) or datetime.min.replace(tzinfo=UTC),
    )


def _token(row: sa.Row[Any]) -> TokenInfo:
    m = row._mapping
    return TokenInfo(
        id=int(m["id"]),
        user=m["name"],
        label=m["label"],
        created_at=_utc(m["created_at"]) or datetime.min.replace(tzinfo=UTC),
        revoked_at=_utc(m["revoked_at"]),
    )


def check_new_user(name: str, role: str, organisation: str | None) -> None:
    """Raise InvalidInput naming the fault unless (name, role, organisation) make a user."""
    if not USER_NAME.fullmatch(name):
        raise InvalidInput(
            f"a user name is 1–64 characters of a-z 0-9 . _ - starting with a letter or "
            f"digit; got {name!r}"
        )
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}; got {role!r}")
    if role == "operator":
        if organisation is None or not ORGANISATION_ID.fullmatch(organisation):
            raise InvalidInput(
                "an operator acts for an organisation: give its ID (1–64 characters of "
                f"A-Z a-z 0-9 . _ -); got {organisation!r}"
            )
    elif organisation is not None:
        raise InvalidInput(f"only operators belong to an organisation, not a {role}")


def create_user(engine: Engine, name: str, role: str, organisation: str | None = None) -> UserInfo:
    """Create a user; InvalidInput for a bad name, role or organisation, AlreadyExists if taken."""
    check_new_user(name, role, organisation)
    try:
        with _writing(engine) as conn:
            conn.execute(
                _users.insert().values(
                    name=name, role=role, organisation=organisation, created_at=datetime.now(UTC)
                )
            )
    except sa.exc.IntegrityError as exc:
        raise AlreadyExists(f"a user named {name!r} already exists") from exc
    return get_user(engine, name)


def _user_in(conn: Connection, name: str) -> UserInfo:
    row = conn.execute(sa.select(_users).where(_users.c.name == name)).first()
    if row is None:
        raise NotFound(f"no user is named {name!r}")
    return _user(row)


def get_user(engine: Engine, name: str) -> UserInfo:
    """Return the user named `name`; NotFound if there is none."""
    with engine.connect() as conn:
        return _user_in(conn, name)


def list_users(
    engine: Engine, *, organisation: str | None = None, after: int = 0, limit: int = 100
) -> list[UserInfo]:
    """Return up to `limit` users with IDs above `after`, by ID; of one organisation if given."""
    query = sa.select(_users).where(_users.c.id > after).order_by(_users.c.id).limit(limit)
    if organisation is not None:
        query = query.where(_users.c.organisation == organisation)
    with engine.connect() as conn:
        return [_user(r) for r in conn.execute(query)]


def _tokens_query() -> sa.Select[Any]:
    return sa.select(
        _tokens.c.id, _tokens.c.label, _tokens.c.created_at, _tokens.c.revoked_at, _users.c.name
    ).join(_users, _users.c.id == _tokens.c.user_id)


def issue_token(engine: Engine, user: str, label: str = "") -> IssuedToken:
    """Issue a new token for the user named `user`; only its hash is stored."""
    if len(label) > 200:
        raise InvalidInput("a token label is at most 200 characters")
    token = new_token()
    with _writing(engine) as conn:
        owner = _user_in(conn, user)
        result = conn.execute(
            _tokens.insert().values(
                user_id=owner.id,
                token_hash=hash_token(token),
                label=label,
                created_at=datetime.now(UTC),
                revoked_at=None,
            )
        )
        (token_id,) = result.inserted_primary_key or (None,)
        row = conn.execute(_tokens_query().where(_tokens.c.id == token_id)).one()
    return IssuedToken(token=token, info=_token(row))


def list_tokens(engine: Engine, user: str, *, after: int = 0, limit: int = 100) -> list[TokenInfo]:
    """Return up to `limit` of the user's tokens with IDs above `after`, revoked ones too."""
    with engine.connect() as conn:
        owner = _user_in(conn, user)
        rows = conn.execute(
            _tokens_query()
            .where(_tokens.c.user_id == owner.id, _tokens.c.id > after)
            .order_by(_tokens.c.id)
            .limit(limit)
        )
        return [_token(r) for r in rows]


def revoke_token(engine: Engine, token_id: int) -> TokenInfo:
    """Revoke a token by ID (it stops authenticating at once); revoking twice keeps the first."""
    with _writing(engine) as conn:
        conn.execute(
            _tokens.update()
            .where(_tokens.c.id == token_id, _tokens.c.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        row = conn.execute(_tokens_query().where(_tokens.c.id == token_id)).first()
    if row is None:
        raise NotFound(f"no token has ID {token_id}")
    return _token(row)


def revoke_user_tokens(engine: Engine, user: str, *, keep: int | None = None) -> int:
    """Revoke every live token of the user named `user` but `keep`; return how many."""
    with _writing(engine) as conn:
        owner = _user_in(conn, user)
        live = sa.and_(_tokens.c.user_id == owner.id, _tokens.c.revoked_at.is_(None))
        if keep is not None:
            live = sa.and_(live, _tokens.c.id != keep)
        result = conn.execute(_tokens.update().where(live).values(revoked_at=datetime.now(UTC)))
        return int(result.rowcount)


def rotate_token(engine: Engine, token_id: int, label: str | None = None) -> IssuedToken:
    """Issue a new token to the owner of live token `token_id` and revoke that one at once.

    The new token keeps the old one's label unless `label` is given. NotFound if the token
    does not exist or is already revoked.
    """
    if label is not None and len(label) > 200:
        raise InvalidInput("a token label is at most 200 characters")
    token = new_token()
    now = datetime.now(UTC)
    with _writing(engine) as conn:
        old = conn.execute(
            sa.select(_tokens.c.user_id, _tokens.c.label).where(
                _tokens.c.id == token_id, _tokens.c.revoked_at.is_(None)
            )
        ).first()
        if old is None:
            raise NotFound(f"no live token has ID {token_id}")
        conn.execute(_tokens.update().where(_tokens.c.id == token_id).values(revoked_at=now))
        result = conn.execute(
            _tokens.insert().values(
                user_id=old.user_id,
                token_hash=hash_token(token),
                label=old.label if label is None else label,
                created_at=now,
                revoked_at=None,
            )
        )
        (new_id,) = result.inserted_primary_key or (None,)
        row = conn.execute(_tokens_query().where(_tokens.c.id == new_id)).one()
    return IssuedToken(token=token, info=_token(row))


def authenticate(engine: Engine, token: str, *, lifetime: timedelta | None = None) -> Principal:
    """Return the principal a token stands for.

    Unauthenticated if the token is malformed, unknown or revoked (the reason does not say
    which, so probing learns nothing), or, given `lifetime`, issued longer ago than that.
    """
    if len(token) != TOKEN_LENGTH or not _TOKEN_SHAPE.fullmatch(token):
        raise Unauthenticated("the bearer token is not a herbtrace token (htk_…, 47 characters)")
    query = (
        sa.select(
            _tokens.c.id.label("token_id"),
            _tokens.c.revoked_at,
            _tokens.c.created_at,
            _users.c.id,
            _users.c.name,
            _users.c.role,
            _users.c.organisation,
        )
        .join(_users, _users.c.id == _tokens.c.user_id)
        .where(_tokens.c.token_hash == hash_token(token))
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None or row.revoked_at is not None:
        raise Unauthenticated("the bearer token is unknown or revoked")
    issued = _utc(row.created_at)
    if lifetime is not None and (issued is None or issued + lifetime <= datetime.now(UTC)):
        raise Unauthenticated(
            f"the bearer token has expired (tokens last {lifetime.days} days); rotate it "
            "before it expires, or ask an admin for a new one"
        )
    return Principal(
        user_id=int(row.id),
        name=row.name,
        role=row.role,
        organisation=row.organisation,
        token_id=int(row.token_id),
    )
