"""What every command shares: settings, the console, and turning domain errors into exit codes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import sqlalchemy as sa
import typer
from pydantic import ValidationError
from rich.console import Console
from sqlalchemy.engine import Engine

from traceability.errors import TraceabilityError
from traceability.settings import Settings
from traceability.storage.db import make_engine

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


@contextmanager
def open_engine(settings: Settings | None = None) -> Iterator[Engine]:
    """Open the configured database for one command, and close its connections after."""
    engine = make_engine((settings or load_settings()).database_url)
    try:
        yield engine
    finally:
        engine.dispose()
