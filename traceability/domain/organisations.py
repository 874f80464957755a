"""Registered organisations: one by ID, and keyset-paged lists of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state
from traceability.domain.paging import check_limit
from traceability.errors import NotFound


@dataclass(frozen=True)
class OrganisationView:
    """A registered organisation, from its latest `organisation` event."""

    id: str
    name: str
    kind: str
    registered_index: int
    updated_index: int

    def to_json(self) -> dict[str, Any]:
        """The organisation as JSON data."""
        return asdict(self)


def get_organisation(conn: Connection, org_id: str) -> OrganisationView:
    """One registered organisation; NotFound if it is not registered."""
    t = state.organisations
    row = conn.execute(sa.select(t).where(t.c.id == org_id)).first()
    if row is None:
        raise NotFound(f"organisation {org_id} is not registered")
    return OrganisationView(**row._mapping)


def list_organisations(
    conn: Connection, *, kind: str | None = None, after: str | None = None, limit: int = 50
) -> list[OrganisationView]:
    """Registered organisations by ID, after the ID `after`, optionally of one kind."""
    check_limit(limit)
    t = state.organisations
    query = sa.select(t)
    if kind is not None:
        query = query.where(t.c.kind == kind)
    if after is not None:
        query = query.where(t.c.id > after)
    return [
        OrganisationView(**r._mapping) for r in conn.execute(query.order_by(t.c.id).limit(limit))
    ]


def organisations_by_id(conn: Connection, ids: Iterable[str]) -> dict[str, OrganisationView]:
    """The registered organisations among `ids`, by ID."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    t = state.organisations
    rows = conn.execute(sa.select(t).where(t.c.id.in_(wanted)))
    return {r.id: OrganisationView(**r._mapping) for r in rows}
