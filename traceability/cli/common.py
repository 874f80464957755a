"""What every command shares: settings, the console, and turning domain errors into exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.engine import Engine

from traceability.errors import TraceabilityError
from traceability.settings import Settings
from traceability.storage.db import make_engine
from traceability.storage.migrate import head_revision, schema_revision

console = Console(soft_wrap=True)
err_console = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")


def load_settings() -> Settings:
    """Read the settings, or exit 2 naming the bad variable."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])  # empty when settings disagree together
        variable = f"HERBTRACE_{where.upper()}: " if where else ""
        message = first["msg"].removeprefix("Value error, ")
        err_console.print(f"[red]error:[/] {variable}{message}")
        raise typer.Exit(2) from exc


def refuse_demo_in_production(settings: Settings, command: str) -> None:
    """Exit 2, before anything is written, if `command` would put demo keys or data into production.

    The demo's private keys are derived from labels published in traceability/demo, so
    anyone could sign as its registrar or regulator.
    """
    if settings.environment == "production":
        raise fail(
            f"`herbtrace {command}` is refused in production (HERBTRACE_ENVIRONMENT=production): "
            "it registers the demo's keys, whose private keys anyone can derive",
            2,
        )


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print an error and return the Exit to raise."""
    err_console.print(f"[red]error:[/] {message}")
    return typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn herbtrace's domain and database errors into a one-line message and exit code 1."""
    try:
        yield
    except TraceabilityError as exc:
        raise fail(str(exc)) from exc
    except sa.exc.SQLAlchemyError as exc:  # unreachable server, unopenable file, no tables yet
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        hint = "check HERBTRACE_DATABASE_URL, and that `herbtrace init` has run"
        raise fail(f"database error: {detail} ({hint})") from exc


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so domain errors exit 1 with a clear message instead of a traceback."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with domain_errors():
            return func(*args, **kwargs)

    return wrapper


def shown_url(url: str) -> str:
    """The database URL as a message shows it: no password, a SQLite file's absolute path."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(Path(str(parsed.database)).resolve()))
    return parsed.render_as_string(hide_password=True)


def require_database(settings: Settings) -> None:
    """Exit 1, creating nothing, unless the configured database exists and `herbtrace init`
    has set it up at the package's schema.

    Every command but `init`, `seed` and `demo` (which create what they need) calls this
    first: SQLite would otherwise create an empty file wherever the command happens to run,
    and an audit of that empty file would pass.
    """
    url = sa.make_url(settings.database_url)
    shown = shown_url(settings.database_url)
    hint = "set HERBTRACE_DATABASE_URL to the right database, or run `herbtrace init` first"
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise fail(f"{shown} is an in-memory database, empty in every command; {hint}")
        if not Path(str(url.database)).is_file():
            raise fail(f"no database at {shown}; {hint}")
    engine = make_engine(settings.database_url)
    try:
        revision = schema_revision(engine)
    except sa.exc.SQLAlchemyError as exc:  # no server, no such database, refused login
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise fail(f"cannot open the database at {shown}: {detail}; {hint}") from exc
    finally:
        engine.dispose()
    if revision is None:
        raise fail(f"the database at {shown} is empty (no herbtrace schema); {hint}")
    if revision != head_revision():
        raise fail(
            f"the database at {shown} is at schema {revision}, this herbtrace needs "
            f"{head_revision()}: run `herbtrace init` to upgrade it"
        )


@contextmanager
def open_engine(settings: Settings | None = None) -> Iterator[Engine]:
    """Open the configured database for one command (refusing a missing or empty one,
    `require_database`), and close its connections after."""
    settings = settings or load_settings()
    require_database(settings)
    engine = make_engine(settings.database_url)
    try:
        yield engine
    finally:
        engine.dispose()
