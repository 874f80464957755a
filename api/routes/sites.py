"""Sites: planting bases, farms, plants, labs, warehouses and shops of organisations (read-only).

A site is registered by recording a `site` event (signed by an admin, a regulator, or an
operator of the site's organisation) through POST /v1/events.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import CurrentPrincipal, EngineDep
from api.errors import error_responses
from api.pagination import KeyAfter, KeyPage, Limit, key_page_of
from traceability.domain.sites import SiteView, get_site, list_sites

router = APIRouter(prefix="/v1/sites", tags=["sites"])


class SiteOut(BaseModel):
    """A registered site, from its latest `site` event."""

    id: str = Field(examples=["site-fusong-wanliang"])
    organisation: str = Field(examples=["org-fusong-coop"])
    name: str = Field(examples=["万良镇林下参基地"])
    kind: str = Field(examples=["planting_base"])
    registered_index: int = Field(description="log index of its first `site` event")
    updated_index: int = Field(description="log index of its latest `site` event")


def site_out(view: SiteView) -> SiteOut:
    """The response model of a site."""
    return SiteOut(**view.to_json())


@router.get("", responses=error_responses(401, 422))
def list_sites_route(
    engine: EngineDep,
    _caller: CurrentPrincipal,
    organisation: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", examples=["org-fusong-coop"]),
    ] = None,
    kind: Annotated[str | None, Query(max_length=32, examples=["planting_base"])] = None,
    after: KeyAfter = None,
    limit: Limit = 50,
) -> KeyPage[SiteOut]:
    """List registered sites by ID, optionally of one organisation or kind (any signed-in
    caller: a shipment names the recipient's site)."""
    with engine.connect() as conn:
        rows = list_sites(conn, organisation=organisation, kind=kind, after=after, limit=limit + 1)
    return key_page_of(rows, limit, lambda s: s.id, site_out)


@router.get("/{site_id}", responses=error_responses(401, 404, 422))
def read_site(
    engine: EngineDep,
    _caller: CurrentPrincipal,
    site_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> SiteOut:
    """One registered site."""
    with engine.connect() as conn:
        return site_out(get_site(conn, site_id))
