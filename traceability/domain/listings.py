"""Filtered, keyset-paged lists of the domain indexes: batches, alerts, organisations, sites.

Every list is ordered by a unique key and pages with `after` (the last key of the previous
page); each function reads `limit + 1` rows so that the caller can tell whether another
page follows. Alerts are listed newest first (raised time, then ID, both descending), so
their `after` is an alert ID and the next page holds older alerts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from traceability.domain import state
from traceability.domain.queries import AlertView, BatchView, batch_view, get_alert
from traceability.errors import InvalidInput, NotFound

MAX_LIMIT = 1000


@dataclass(frozen=True)
class BatchFilter:
    """What a batch list is narrowed to; None matches anything.

    `organisation` keeps the batches it owns or holds; `site` those that began there.
    """

    herb: str | None = None
    status: str | None = None
    owner: str | None = None
    custodian: str | None = None
    site: str | None = None
    organisation: str | None = None


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


def _registered(conn: Connection, table: sa.Table, what: str, key: str) -> sa.RowMapping:
    row = conn.execute(sa.select(table).where(table.c.id == key)).first()
    if row is None:
        raise NotFound(f"{what} {key} is not registered")
    return row._mapping


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT + 1:
        raise InvalidInput(f"limit must be 1–{MAX_LIMIT}, got {limit}")


def list_batches(
    conn: Connection, where: BatchFilter, *, after: str | None = None, limit: int = 50
) -> list[BatchView]:
    """Batches matching `where`, by ID, after the ID `after`; at most `limit` rows."""
    _check_limit(limit)
    t = state.batches
    query = sa.select(t)
    for column in ("herb", "status", "owner", "custodian"):
        value = getattr(where, column)
        if value is not None:
            query = query.where(t.c[column] == value)
    if where.site is not None:
        query = query.where(t.c.origin_site == where.site)
    if where.organisation is not None:
        query = query.where(
            sa.or_(t.c.owner == where.organisation, t.c.custodian == where.organisation)
        )
    if after is not None:
        query = query.where(t.c.id > after)
    return [batch_view(r._mapping) for r in conn.execute(query.order_by(t.c.id).limit(limit))]


def alert_concerns(conn: Connection, alert: AlertView, organisation: str) -> bool:
    """Whether an alert is about `organisation`: its subject, or its batch's owner or holder."""
    if alert.subject == organisation:
        return True
    if alert.batch is None:
        return False
    batch = state.get_batch(conn, alert.batch)
    return batch is not None and organisation in (batch.owner, batch.custodian)


def list_alerts(
    conn: Connection,
    *,
    organisation: str | None = None,
    kind: str | None = None,
    severity: str | None = None,
    batch: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[AlertView]:
    """Alerts newest first, older than the alert `after`; those about `organisation` only
    when it is given (see `alert_concerns`). NotFound when `after` names no alert.
    """
    _check_limit(limit)
    t = state.alerts
    b = state.batches
    query = sa.select(t)
    if organisation is not None:
        held = sa.select(b.c.id).where(
            sa.or_(b.c.owner == organisation, b.c.custodian == organisation)
        )
        query = query.where(sa.or_(t.c.subject == organisation, t.c.batch.in_(held)))
    for column, value in (("kind", kind), ("severity", severity), ("batch", batch)):
        if value is not None:
            query = query.where(t.c[column] == value)
    if after is not None:
        try:
            anchor = get_alert(conn, after)
        except NotFound as exc:
            raise InvalidInput(f"after: no alert {after} to page on from") from exc
        query = query.where(
            sa.or_(
                t.c.raised_at < anchor.raised_at,
                sa.and_(t.c.raised_at == anchor.raised_at, t.c.id < anchor.id),
            )
        )
    rows = conn.execute(query.order_by(t.c.raised_at.desc(), t.c.id.desc()).limit(limit))
    return [get_alert(conn, r._mapping["id"]) for r in rows]


def get_organisation(conn: Connection, org_id: str) -> OrganisationView:
    """One registered organisation; NotFound if it is not registered."""
    return OrganisationView(**_registered(conn, state.organisations, "organisation", org_id))


def list_organisations(
    conn: Connection, *, kind: str | None = None, after: str | None = None, limit: int = 50
) -> list[OrganisationView]:
    """Registered organisations by ID, after the ID `after`, optionally of one kind."""
    _check_limit(limit)
    t = state.organisations
    query = sa.select(t)
    if kind is not None:
        query = query.where(t.c.kind == kind)
    if after is not None:
        query = query.where(t.c.id > after)
    return [
        OrganisationView(**r._mapping) for r in conn.execute(query.order_by(t.c.id).limit(limit))
    ]


def get_site(conn: Connection, site_id: str) -> SiteView:
    """One registered site; NotFound if it is not registered."""
    return SiteView(**_registered(conn, state.sites, "site", site_id))


def list_sites(
    conn: Connection,
    *,
    organisation: str | None = None,
    kind: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> list[SiteView]:
    """Registered sites by ID, after the ID `after`, optionally of one organisation or kind."""
    _check_limit(limit)
    t = state.sites
    query = sa.select(t)
    if organisation is not None:
        query = query.where(t.c.organisation == organisation)
    if kind is not None:
        query = query.where(t.c.kind == kind)
    if after is not None:
        query = query.where(t.c.id > after)
    return [SiteView(**r._mapping) for r in conn.execute(query.order_by(t.c.id).limit(limit))]
