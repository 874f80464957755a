"""Cold chain: storage readings outside a herb's range for longer than its tolerance alert.

Applies to `cold_chain` and `warehouse` readings (drying rooms run hot on purpose). For each
(sensor, batch) the state keeps the open excursion: the time of the first reading outside
the herb's storage range (temperature below its minimum or above its maximum, humidity
above its maximum) since the last reading inside it. When a later reading is still
outside and the time since the first exceeds the tolerance (any reading at all for a
tolerance of 0), one `cold_chain` alert is raised for that excursion. The duration is what
the readings prove: from the first outside reading to the latest. Readings older than the
latest seen for the pair are kept in the log but do not move the state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

from schemas.events import Reading, SensorReadings
from traceability.domain import quantities as q
from traceability.domain.context import Context
from traceability.domain.herbs import StorageRange
from traceability.domain.state import BatchRecord
from traceability.domain.working_set import Excursion

WATCHED = ("cold_chain", "warehouse")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def outside(r: Reading, s: StorageRange) -> str | None:
    """Why the reading is outside the range, or None when it is inside."""
    if r.temperature_c is not None:
        t = Decimal(r.temperature_c)
        if s.temperature_min is not None and t < s.temperature_min:
            return f"{r.temperature_c} °C below {q.text(s.temperature_min)} °C"
        if s.temperature_max is not None and t > s.temperature_max:
            return f"{r.temperature_c} °C above {q.text(s.temperature_max)} °C"
    if r.humidity_pct is not None:
        h = Decimal(r.humidity_pct)
        if s.humidity_min is not None and h < s.humidity_min:
            return f"humidity {r.humidity_pct}% below {q.text(s.humidity_min)}%"
        if s.humidity_max is not None and h > s.humidity_max:
            return f"humidity {r.humidity_pct}% above {q.text(s.humidity_max)}%"
    return None


def observe(ctx: Context, body: SensorReadings, found: dict[str, BatchRecord]) -> None:
    """Advance each batch's excursion with the readings; alert when one outlasts tolerance."""
    if body.kind not in WATCHED:
        return
    readings = sorted(body.readings, key=lambda r: _time(r.at))
    for batch_id in dict.fromkeys(body.batches):
        batch = found[batch_id]
        storage = ctx.herbs.storage(batch.herb)
        if storage is None:
            continue
        stored = ctx.state.excursion(body.sensor, batch_id)
        ex = Excursion(None, None, False) if stored is None else replace(stored)
        for r in readings:
            if ex.last_at is not None and _time(r.at) <= _time(ex.last_at):
                continue
            ex.last_at = r.at
            why = outside(r, storage)
            if why is None:
                ex.started_at, ex.alerted = None, False
                continue
            if ex.started_at is None:
                ex.started_at = r.at
            minutes = (_time(r.at) - _time(ex.started_at)).total_seconds() / 60
            too_long = minutes > storage.tolerance_minutes or storage.tolerance_minutes == 0
            if too_long and not ex.alerted:
                ex.alerted = True
                ctx.alert(
                    "cold_chain",
                    "warning",
                    f"sensor {body.sensor}: batch {batch_id} ({batch.herb}) out of its storage "
                    f"range from {ex.started_at} to {r.at} ({minutes:g} min, tolerance "
                    f"{storage.tolerance_minutes} min): {why}",
                    batch=batch_id,
                    subject=body.sensor,
                    evidence={
                        "sensor": body.sensor,
                        "since": ex.started_at,
                        "until": r.at,
                        "minutes": int(minutes),
                        "tolerance_minutes": storage.tolerance_minutes,
                        "reading": why,
                    },
                )
        if ex.last_at is not None:
            ctx.state.save_excursion(body.sensor, batch_id, ex)
