"""Test helper: run one of the domain's read functions on its own connection."""

from __future__ import annotations

from collections.abc import Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy.engine import Connection, Engine

P = ParamSpec("P")
T = TypeVar("T")


def read(
    engine: Engine,
    query: Callable[Concatenate[Connection, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """`query(conn, *args, **kwargs)` on a fresh connection of `engine` (it sees every commit)."""
    with engine.connect() as conn:
        return query(conn, *args, **kwargs)
