"""Custody and market events: shipping, receiving, retail sale and recall."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.events.common import Body, DateStr, GS1Text, Identifier, Text

Batches = Annotated[list[Identifier], Field(min_length=1, max_length=1000)]


class Ship(Body):
    """The custodian sends batches to another organisation (custody passes on receipt)."""

    type: Literal["ship"]
    shipment: Identifier
    batches: Batches
    to: Identifier = Field(description="The receiving organisation")
    to_site: Identifier | None = None
    carrier: Text | None = None
    shipped_on: DateStr


class Receive(Body):
    """The receiving organisation confirms a shipment; custody passes to it."""

    type: Literal["receive"]
    shipment: Identifier
    batches: Batches
    sender: Identifier = Field(description="The sending organisation")
    site: Identifier
    received_on: DateStr


class RetailSale(Body):
    """Units of a packed batch sold to consumers."""

    type: Literal["retail_sale"]
    batch: Identifier = Field(description="The packed batch")
    serials: Annotated[list[GS1Text], Field(min_length=1, max_length=1000)]
    sold_on: DateStr


class Recall(Body):
    """A batch recalled, with everything downstream of it."""

    type: Literal["recall"]
    batch: Identifier
    reason: Text
    level: Literal["I", "II", "III"] = Field(description="召回级别 一级/二级/三级")
