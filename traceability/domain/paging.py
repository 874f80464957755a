"""Keyset paging, the one paging style of the domain's lists.

Every list is ordered by a unique key and pages on with `after`: the last key of the
previous page. A caller asks for `limit + 1` rows to tell whether another page follows,
so a list takes at most `MAX_LIMIT + 1`.
"""

from __future__ import annotations

from traceability.errors import InvalidInput

MAX_LIMIT = 1000
"""The most items one page shows."""


def check_limit(limit: int) -> None:
    """Refuse a row count outside 1 to `MAX_LIMIT + 1` (InvalidInput)."""
    if not 1 <= limit <= MAX_LIMIT + 1:
        raise InvalidInput(f"limit must be 1–{MAX_LIMIT}, got {limit}")
