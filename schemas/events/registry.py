"""Registration events: the organisations and sites that handle herbs."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.events.common import Body, Coordinates, Identifier, Region, Text

OrganisationKind = Literal[
    "cooperative",
    "grower",
    "deer_farm",
    "processor",
    "testing_lab",
    "distributor",
    "retailer",
    "regulator",
]
"""合作社 种植户/企业 鹿场 加工企业 检测机构 经销商 零售药房 监管部门."""

SiteKind = Literal[
    "planting_base",
    "deer_farm",
    "drying_room",
    "processing_plant",
    "laboratory",
    "warehouse",
    "pharmacy",
]
"""种植基地 养殖场 烘干房 加工厂 实验室 仓库 药房."""


class OrganisationRegistered(Body):
    """An organisation joins (or updates its record); signed by an admin or regulator."""

    type: Literal["organisation"]
    id: Identifier
    name: Text = Field(description="Registered Chinese name")
    name_en: Text | None = None
    kind: OrganisationKind
    region: Region | None = None
    credit_code: str | None = Field(
        default=None,
        pattern=r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$",
        description="统一社会信用代码 (18 characters)",
    )
    natural_person: bool = Field(
        default=False,
        description="The organisation is one natural person (个体种植户, an individual grower): "
        "public answers show it as such with its region, never by name",
    )


class GapStatus(Body):
    """Good Agricultural Practice (GAP) status of a growing or farming site."""

    status: Literal["certified", "in_progress", "none"]
    certificate: Text | None = None


class SiteRegistered(Body):
    """A site of an organisation: planting base, deer farm, drying room, plant, warehouse…"""

    type: Literal["site"]
    id: Identifier
    organisation: Identifier
    name: Text
    kind: SiteKind
    region: Region
    location: Coordinates | None = None
    gap: GapStatus | None = None
    gln: str | None = Field(default=None, pattern=r"^[0-9]{13}$", description="GS1 GLN")
