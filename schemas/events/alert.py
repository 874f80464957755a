"""Alerts the rules raise; they are signed by herbtrace's rules signer and logged too."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from schemas.envelope import HashHex
from schemas.events.common import PLAIN_TEXT, Body, Identifier, Label, Text

AlertKind = Literal[
    "quality_failed",
    "mass_balance",
    "cold_chain",
    "growing_age",
    "custody",
    "recalled_batch",
    "device_gap",
    "equivocation",
    "counterfeit_scan",
]


class Alert(Body):
    """A finding for regulators, with the evidence that raised it."""

    type: Literal["alert"]
    id: Identifier | None = Field(
        default=None, description="The alert's ID in herbtrace's alert index (set by the rules)"
    )
    kind: AlertKind
    severity: Literal["info", "warning", "critical"]
    batch: Identifier | None = None
    subject: Text | None = Field(default=None, description="What it is about, e.g. a device")
    detail: Annotated[str, StringConstraints(min_length=1, max_length=1000, pattern=PLAIN_TEXT)]
    evidence: dict[Label, Text | int] = Field(default_factory=dict, max_length=20)
    envelopes: list[HashHex] = Field(
        default_factory=list, max_length=20, description="Envelope hashes of the evidence"
    )
