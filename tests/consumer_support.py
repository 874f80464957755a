"""Helpers of the consumer page tests: a database seeded with the demo stories, and its units."""

from __future__ import annotations

from pathlib import Path

from api_support import api_settings

from traceability.demo.seed import seed_events
from traceability.domain.service import Domain
from traceability.ledger import initialise
from traceability.settings import Settings

RECALL_EVENTS = 135
"""The registrations and demo cycles 0 and 1, then cycle 2's ginseng story up to its recall."""

RED_GINSENG_GTIN = "09520123000110"
SOLD = f"/01/{RED_GINSENG_GTIN}/10/HS260000000/21/RS00000000001"
"""A 红参 unit of story 0, sold at the 长春 pharmacy."""
UNSOLD = f"/01/{RED_GINSENG_GTIN}/10/HS260000000/21/RS00000000050"
"""A unit of the same box batch, still on the shelf."""
RECALLED = f"/01/{RED_GINSENG_GTIN}/10/HS260000002/21/RS00000020001"
"""A 红参 unit of story 2, whose batch the regulator recalls."""
BATCH_LINK = f"/01/{RED_GINSENG_GTIN}/10/HS260000000"
VELVET = "/01/09520456000214/10/LR260000000/21/LR00000000001"
"""A 鹿茸片 unit of the first velvet story (its processing parameters are in Chinese)."""
SOLD_BATCH = "JA-HS-2026-00000-P"


def seeded_settings(directory: Path, events: int = RECALL_EVENTS, **overrides: object) -> Settings:
    """Initialise a SQLite database in `directory`, seed `events` demo events, return settings."""
    settings = api_settings(f"sqlite:///{directory / 'herbtrace.db'}", **overrides)
    initialise(settings)
    with Domain(settings) as domain:
        results = seed_events(domain, events)
    assert {r.status for r in results} == {"accepted"}
    return settings
