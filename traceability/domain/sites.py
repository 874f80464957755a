"""Registered sites of organisations: one by ID, and keyset-paged lists of them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state
from traceability.domain.paging import check_limit
from traceability.errors import NotFound


@dataclass(frozen=True)
class SiteView:
    """A registered site of an organisation, from its latest `site` event."""

    id: str
    organisation: str
    name: str
    kind: str
    registered_index: int
    updated_index: int

    def to_json(self) -> dict[str, Any]:
        """The site as JSON data."""
        return asdict(self)


def get_site(conn: Connection, site_id: str) -> SiteView:
    """One registered site; NotFound if it is not registered."""
    t = state.sites
    row = conn.execute(sa.select(t).where(t.c.id == site_id)).first()
    if row is None:
        raise NotFound(f"site {site_id} is not registered")
    return SiteView(**row._mapping)


def list_sites(
    conn: Connection,
    *,
    organisation: str | None = None,
    kind: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[SiteView]:
    """Registered sites by ID, after the ID `after`, optionally of one organisation or kind."""
    check_limit(limit)
    t = state.sites
    query = sa.select(t)
    if organisation is not None:
        query = query.where(t.c.organisation == organisation)
    if kind is not None:
        query = query.where(t.c.kind == kind)
    if after is not None:
        query = query.where(t.c.id > after)
    return [SiteView(**r._mapping) for r in conn.execute(query.order_by(t.c.id).limit(limit))]


def site_by_id(conn: Connection, site_id: str) -> SiteView | None:
    """The registered site `site_id`, or None."""
    t = state.sites
    row = conn.execute(sa.select(t).where(t.c.id == site_id)).first()
    return None if row is None else SiteView(**row._mapping)
