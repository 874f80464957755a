"""Organisations: the registry of growers, processors, labs, carriers and sellers (read-only).

An organisation is registered by recording an `organisation` event, signed by an admin or a
regulator, through POST /v1/events; its latest such event is what is shown here.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from api.deps import CurrentPrincipal, EngineDep
from api.errors import error_responses
from api.pagination import KeyAfter, KeyPage, Limit, key_page_of
from traceability.domain.organisations import (
    OrganisationView,
    get_organisation,
    list_organisations,
)

router = APIRouter(prefix="/v1/organisations", tags=["organisations"])


class OrganisationOut(BaseModel):
    """A registered organisation, from its latest `organisation` event."""

    id: str = Field(examples=["org-fusong-coop"])
    name: str = Field(examples=["抚松县长白山人参种植专业合作社"])
    kind: str = Field(examples=["cooperative"])
    registered_index: int = Field(description="log index of its first `organisation` event")
    updated_index: int = Field(description="log index of its latest `organisation` event")


def organisation_out(view: OrganisationView) -> OrganisationOut:
    """The response model of an organisation."""
    return OrganisationOut(**view.to_json())


@router.get("", responses=error_responses(401, 422))
def list_organisations_route(
    engine: EngineDep,
    _caller: CurrentPrincipal,
    kind: Annotated[str | None, Query(max_length=32, examples=["testing_lab"])] = None,
    after: KeyAfter = None,
    limit: Limit = 50,
) -> KeyPage[OrganisationOut]:
    """List registered organisations by ID (any signed-in caller: operators need to name
    the others they ship to, test with or buy from)."""
    with engine.connect() as conn:
        rows = list_organisations(conn, kind=kind, after=after, limit=limit + 1)
    return key_page_of(rows, limit, lambda o: o.id, organisation_out)


@router.get("/{organisation_id}", responses=error_responses(401, 404, 422))
def read_organisation(
    engine: EngineDep,
    _caller: CurrentPrincipal,
    organisation_id: Annotated[str, Path(min_length=1, max_length=64)],
) -> OrganisationOut:
    """One registered organisation."""
    with engine.connect() as conn:
        return organisation_out(get_organisation(conn, organisation_id))
