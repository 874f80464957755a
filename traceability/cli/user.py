"""`herbtrace user …`: add and list API users, issue and revoke their bearer tokens."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy.engine import Engine

from traceability.cli.common import console, fail, handles_errors, load_settings, open_engine
from traceability.domain.organisations import get_organisation, list_organisations
from traceability.errors import NotFound
from traceability.users import (
    ROLES,
    create_user,
    issue_token,
    list_tokens,
    list_users,
    revoke_token,
    revoke_user_tokens,
)

app = typer.Typer(help="Manage API users and their bearer tokens.", no_args_is_help=True)

_PAGE = 500
_SHOWN = 12


@app.command("add")
@handles_errors
def add(
    name: Annotated[str, typer.Argument(help="Login name: a-z 0-9 . _ -")],
    role: Annotated[str, typer.Option(help=f"One of: {', '.join(ROLES)}")],
    organisation: Annotated[
        str | None, typer.Option(help="The organisation's ID (operators only)")
    ] = None,
) -> None:
    """Create an API user; an operator's organisation must be registered
    (`GET /v1/organisations` lists them)."""
    with open_engine() as engine:
        if organisation is not None:
            _require_registered(engine, organisation)
        user = create_user(engine, name, role, organisation)
    where = f" of {user.organisation}" if user.organisation else ""
    console.print(f"user {user.name} ({user.role}{where}) created")


@app.command("list")
@handles_errors
def list_(
    organisation: Annotated[str | None, typer.Option(help="Only this organisation's")] = None,
    tokens: Annotated[bool, typer.Option("--tokens", help="Also list each user's tokens")] = False,
) -> None:
    """List API users (and, with --tokens, their tokens, never the secrets)."""
    table = Table("name", "role", "organisation", "created")
    token_table = Table("token ID", "user", "label", "created", "revoked")
    with open_engine() as engine:
        after = 0
        while page := list_users(engine, organisation=organisation, after=after, limit=_PAGE):
            for user in page:
                table.add_row(user.name, user.role, user.organisation or "", str(user.created_at))
                for t in list_tokens(engine, user.name) if tokens else []:
                    revoked = str(t.revoked_at) if t.revoked_at else ""
                    token_table.add_row(str(t.id), t.user, t.label, str(t.created_at), revoked)
            after = page[-1].id
    console.print(table)
    if tokens:
        console.print(token_table)


@app.command("token")
@handles_errors
def token(
    name: Annotated[str, typer.Argument(help="The user's login name")],
    label: Annotated[str, typer.Option(help="What the token is for, e.g. a machine")] = "",
    replace: Annotated[
        bool, typer.Option("--replace", help="Revoke the user's other tokens at once (rotation)")
    ] = False,
) -> None:
    """Issue a bearer token for a user; it is printed once and cannot be shown again.

    Tokens expire HERBTRACE_TOKEN_LIFETIME_DAYS after they are issued (90 by default); issue
    a new one before then, with --replace to revoke the old ones in the same step.
    """
    with open_engine() as engine:
        issued = issue_token(engine, name, label)
        revoked = revoke_user_tokens(engine, name, keep=issued.info.id) if replace else 0
    if revoked:
        console.print(f"revoked {revoked} older token(s) of {issued.info.user}")
    days = load_settings().token_lifetime_days
    console.print(
        f"token {issued.info.id} for {issued.info.user}, valid {days} days "
        "(shown once, keep it secret):"
    )
    print(issued.token)  # noqa: T201 - plain stdout, so scripts can capture exactly the token


@app.command("revoke")
@handles_errors
def revoke(
    token_id: Annotated[int | None, typer.Argument(help="The token's ID")] = None,
    user: Annotated[str | None, typer.Option(help="Revoke every token of this user")] = None,
) -> None:
    """Revoke one token by its ID, or all of a user's tokens with --user."""
    if (token_id is None) == (user is None):
        raise fail("give either a token ID or --user NAME", code=2)
    with open_engine() as engine:
        if user is not None:
            count = revoke_user_tokens(engine, user)
            console.print(f"revoked {count} token(s) of {user}")
            return
        assert token_id is not None  # noqa: S101 - narrowed by the check above
        info = revoke_token(engine, token_id)
    console.print(f"token {info.id} of {info.user} revoked at {info.revoked_at}")


def _require_registered(engine: Engine, organisation: str) -> None:
    """Exit 1 naming a few registered organisations unless `organisation` is one."""
    with engine.connect() as conn:
        try:
            get_organisation(conn, organisation)
            return
        except NotFound:
            known = [o.id for o in list_organisations(conn, limit=_SHOWN + 1)]
    if not known:
        raise fail(
            f"organisation {organisation!r} is not registered, and none is yet: register it "
            'first (docs/api.md, "The first organisation and site")'
        )
    more = ", …" if len(known) > _SHOWN else ""
    raise fail(
        f"organisation {organisation!r} is not registered; registered: "
        f"{', '.join(known[:_SHOWN])}{more}"
    )
