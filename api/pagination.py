"""Keyset pagination shared by every list endpoint: `?after=ID&limit=N` in, a `Page` out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

MAX_ID = 2**63 - 1
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

T = TypeVar("T")
S = TypeVar("S")

After = Annotated[
    int,
    Query(ge=0, le=MAX_ID, description="return items after this ID: the previous `next_after`"),
]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="at most this many items")]


class Page(BaseModel, Generic[T]):
    """One page of a list, in ID order; `next_after` fetches the next page."""

    items: list[T]
    next_after: int | None = Field(
        description="pass as `after` to get the next page; null on the last page",
        examples=[42],
    )


def page_of(
    rows: Sequence[S], limit: int, key: Callable[[S], int], out: Callable[[S], T]
) -> Page[T]:
    """Build a page from up to `limit + 1` rows (the extra one only says another page exists)."""
    shown = rows[:limit]
    more = len(rows) > limit
    return Page[T](items=[out(r) for r in shown], next_after=key(shown[-1]) if more else None)


KeyAfter = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=64,
        description="return items after this key: the previous page's `next_after`",
    ),
]
"""The `after` of lists keyed by a domain identifier (batches, alerts, sites …)."""


class KeyPage(BaseModel, Generic[T]):
    """One page of a list keyed by identifiers; `next_after` fetches the next page."""

    items: list[T]
    next_after: str | None = Field(
        description="pass as `after` to get the next page; null on the last page",
        examples=["FS-RS-2026-00042"],
    )


def key_page_of(
    rows: Sequence[S], limit: int, key: Callable[[S], str], out: Callable[[S], T]
) -> KeyPage[T]:
    """Build a page from up to `limit + 1` rows (the extra one only says another page exists)."""
    shown = rows[:limit]
    more = len(rows) > limit
    return KeyPage[T](items=[out(r) for r in shown], next_after=key(shown[-1]) if more else None)
