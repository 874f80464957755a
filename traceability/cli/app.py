"""The root `herbtrace` command: init, seed, verify, and the sub-command groups.

Outer packages add their own commands through the `herbtrace.cli` entry points
(`load_plugins`): `api/` adds `serve`, `devices/` adds `demo`, `device` and `ingest`.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Annotated

import typer
from sqlalchemy import make_url

from traceability.cli.bench import app as bench_app
from traceability.cli.common import (
    console,
    fail,
    handles_errors,
    load_settings,
    refuse_demo_in_production,
)
from traceability.cli.domain import reindex
from traceability.cli.export import app as export_app
from traceability.cli.importer import app as import_app
from traceability.cli.signer import app as signer_app
from traceability.cli.user import app as user_app
from traceability.cli.verify import verify
from traceability.domain.server_key import rewrap_server_keys
from traceability.key_wrapping import COSTS
from traceability.ledger import initialise
from traceability.log.log_key import upgrade_log_key
from traceability.storage.db import make_engine
from traceability.storage.roles import RolePlan, check_role_name

app = typer.Typer(
    name="herbtrace",
    help="Verifiable traceability for authentic Chinese medicinal materials (道地药材).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(export_app, name="export")
app.add_typer(import_app, name="import")
app.add_typer(bench_app, name="bench")
app.add_typer(signer_app, name="signer")
app.add_typer(user_app, name="user")
app.command()(verify)
app.command()(reindex)


@app.command()
@handles_errors
def init(
    app_role: Annotated[
        str | None,
        typer.Option(
            help="PostgreSQL: the role the servers connect as, created if missing and granted "
            "only what they need (default: HERBTRACE_DATABASE_URL's user, when not the owner)"
        ),
    ] = None,
    print_sql: Annotated[
        bool,
        typer.Option(
            "--print-sql",
            help="Print the SQL that sets up --app-role, for a DBA to run as the owner; "
            "connect to nothing",
        ),
    ] = False,
) -> None:
    """Create or upgrade the database (as the owner role) and create the log's signing key.

    A log key stored with the old PBKDF2 wrapping is re-encrypted in place with Argon2id.

    Migrates through HERBTRACE_MIGRATION_DATABASE_URL, else HERBTRACE_DATABASE_URL; on
    PostgreSQL grants the application role SELECT and INSERT on the log tables and nothing
    that could change a logged row.
    """
    settings = load_settings()
    if print_sql:
        app_url = make_url(settings.database_url)
        role = app_role or app_url.username
        if app_url.get_backend_name() != "postgresql" or role is None or not app_url.database:
            raise fail(
                "--print-sql needs a PostgreSQL HERBTRACE_DATABASE_URL naming a database, "
                "and --app-role or a user in that URL"
            )
        plan = RolePlan(check_role_name(role), app_url.database)
        console.out(plan.script(), end="")  # plain text: rich markup would eat [brackets]
        return
    verifier = initialise(settings, app_role=app_role)
    shown = make_url(settings.migration_database_url or settings.database_url)
    console.print(f"database ready: {shown.render_as_string(hide_password=True)}")
    owner = make_engine(settings.migration_database_url or settings.database_url)
    try:
        cost = COSTS[settings.key_kdf_cost]
        upgraded = upgrade_log_key(owner, settings.log_origin, settings.log_key_passphrase, cost)
        rewrapped = rewrap_server_keys(owner, settings.log_key_passphrase, cost)
    finally:
        owner.dispose()
    if upgraded is not None:
        console.print(f"log key re-encrypted in place (the same key): {upgraded}")
    for name in rewrapped:
        console.print(f"server key {name} re-encrypted in place (the same key)")
    console.print(f"log key: {verifier.to_vkey()}")


@app.command()
@handles_errors
def seed(
    events: Annotated[int, typer.Option(min=1, max=10_000_000, help="How many events")] = 1000,
    registrations: Annotated[
        bool,
        typer.Option(
            "--registrations",
            help="Only the demo's first events: its organisations and sites, registered by "
            "its registrar (what `herbtrace device simulate` records on); seeding them "
            "again appends nothing",
        ),
    ] = False,
) -> None:
    """Append N realistic signed events from a handful of registered demo signers (refused in
    production: anyone can derive the demo's keys)."""
    from traceability.demo import seed_events
    from traceability.demo.seed import demo_heads
    from traceability.demo.stories import registrations as registered
    from traceability.domain.service import Domain

    settings = load_settings()
    refuse_demo_in_production(settings, "seed")
    initialise(settings)
    with Domain(settings) as domain:  # the rules index every event and log their alerts
        if registrations:
            events = max(0, len(registered()) - demo_heads(domain.engine)[0])
        results = seed_events(domain, events)
        domain.ledger.checkpointer.issue(domain.engine)
        accepted = sum(r.status == "accepted" for r in results)
        console.print(f"appended {accepted} of {events} events; log size {domain.ledger.size()}")
        if accepted != events:
            rejected = [r for r in results if r.status != "accepted"][:3]
            raise fail(f"{events - accepted} events not appended, e.g. {rejected}")


PLUGIN_GROUP = "herbtrace.cli"
"""Entry points in this group add commands from outer packages (devices/, api/) to the CLI,
so the core never imports them: each is a callable `register(root, bench)` taking the root
app and the `bench` group."""


_loaded: list[str] = []


def load_plugins() -> None:
    """Let every installed `herbtrace.cli` entry point register its commands (once each)."""
    for entry in entry_points(group=PLUGIN_GROUP):
        if entry.name not in _loaded:
            _loaded.append(entry.name)
            entry.load()(app, bench_app)


def main() -> None:
    """Entry point of the `herbtrace` console script."""
    load_plugins()
    app()
