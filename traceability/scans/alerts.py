"""A unit's one `counterfeit_scan` alert, raised from the scan that first crossed a threshold.

The alert is a function of that marked scan's row and the thresholds alone: kind
`counterfeit_scan`, severity `warning`, the unit's packed batch, subject
`(01)<GTIN-14>(21)<serial>`, a sentence naming the signal, and evidence (the unit, the
signal, the scan's ordinal and time, the first scan's time, the running totals, the limit,
and for `far_apart` the two places). Its ID is a hash of that content
(`traceability/domain/alerts.py`), so raising it twice stores it once.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from traceability.digital_link import DigitalLink
from traceability.domain.alerts import alert_exists
from traceability.domain.units import subject_of
from traceability.scans.store import farthest, place_of, scan_at, utc_text
from traceability.settings import Settings

ALERT_KIND = "counterfeit_scan"
SEVERITY = "warning"

_alerting = threading.Lock()
"""Held while checking for and raising an alert, so this process raises each once."""


class AlertSink(Protocol):
    """Where a counterfeit signal goes: `Domain.raise_alert` stores and logs the alert."""

    def raise_alert(
        self,
        kind: str,
        severity: str,
        detail: str,
        *,
        batch: str | None = None,
        subject: str | None = None,
        evidence: dict[str, str | int] | None = None,
        envelopes: Sequence[str] = (),
    ) -> Any: ...


def alert_stored(engine: Engine, subject: str) -> bool:
    """Whether the unit named `subject` has its counterfeit_scan alert stored already."""
    with engine.connect() as conn:
        return alert_exists(conn, ALERT_KIND, subject)


def alert_content(engine: Engine, settings: Settings, link: DigitalLink, marked: Any) -> Any:
    """The detail and evidence of the alert of the unit's marked scan."""
    gtin, serial = link.gtin, str(link.serial)
    subject = subject_of(gtin, serial)
    with engine.connect() as conn:
        first = scan_at(conn, gtin, serial, 1)
        evidence: dict[str, str | int] = {
            "gtin": gtin,
            "lot": link.lot or "",
            "serial": serial,
            "signal": marked.signal,
            "scan": marked.number,
            "scanned_at": utc_text(marked.scanned_at),
            "first_scanned_at": utc_text(first.scanned_at),
            "scanners": marked.scanners,
            "far_km": marked.far_km,
        }
        if marked.signal == "many_scanners":
            limit = settings.scan_warn_count
            seen = f"was scanned by {marked.scanners} distinct scanners, more than {limit}"
        else:
            limit = settings.scan_warn_distance_km
            seen = f"was scanned from places {marked.far_km} km apart, more than {limit} km"
            place = place_of(marked)
            if place is not None:
                _, other = farthest(conn, gtin, serial, place, marked.number)
                evidence["place"] = place.text()
                if other is not None:
                    evidence["other_place"] = other.text()
    evidence["limit"] = limit
    detail = f"unit {subject} {seen}: its code may be copied onto counterfeit goods"
    return {"detail": detail, "evidence": evidence}


def ensure_alert(
    engine: Engine,
    settings: Settings,
    sink: AlertSink,
    link: DigitalLink,
    batch: str,
    marked: Any,
) -> None:
    """Raise the unit's alert for its marked scan unless it is stored already.

    Should another process store the same alert meanwhile, its insert wins and the
    database's refusal of this one's is taken as done.
    """
    subject = subject_of(link.gtin, str(link.serial))
    with _alerting:
        if alert_stored(engine, subject):
            return
        content = alert_content(engine, settings, link, marked)
        try:
            sink.raise_alert(ALERT_KIND, SEVERITY, batch=batch, subject=subject, **content)
        except sa.exc.IntegrityError:
            if not alert_stored(engine, subject):
                raise
