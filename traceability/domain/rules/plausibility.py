"""Plausibility at admission: event times against the log's time received, quantities against
the catalogue's bounds.

The event schema (schemas.events) already refuses what is implausible on its face: text
with control or format characters or too long, quantities of zero, fractions above the
whole. What remains needs the time the log received the event, or the herb catalogue:

- **Times.** No time or date in an event may lie after the log's time received plus the
  clock skew allowed (`HERBTRACE_CLOCK_SKEW`, 600 s by default). A calendar date is the
  local date at the site, so it may be as late as the date at UTC+14 (the earliest time
  zone) at that moment. Nothing may lie before a floor: an instant (the envelope's `time`, a
  sensor reading's `at`) not before 2001-01-01T00:00:00Z, after the dates a clock that was
  never set reports (1970 for Unix time, 1980 for GPS, 2000 for many real-time-clock
  chips); a calendar date not before 1900-01-01, since a growing age may be claimed up to
  100 years (the schema's bound) and a planting that old must still be recordable.
- **Quantities.** Every quantity of a batch (a harvest, a transform's inputs and outputs, a
  split's children, a merge, a packed unit, a planting's area) is at most the catalogue's
  bound for the batch's herb (`[quantities]` in herbs.toml), per kind of unit.

These checks run only when an event is admitted (`Projector.apply(admission=True)`, from
the policy), never when the log is replayed: the time received is the leaf's own, so a
replay would judge alike, but a later setting or catalogue must not change what a log
already holds, and entries admitted before these checks existed stay as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache

from pydantic import BaseModel

from schemas.events import (
    EventBody,
    Harvest,
    Husbandry,
    Merge,
    Pack,
    Planting,
    Quantity,
    SensorReadings,
    Split,
)
from schemas.events.origin import Area
from schemas.events.processing import FreshProcessing, Processing
from traceability.domain import quantities
from traceability.domain.context import Context

EARLIEST_INSTANT = datetime(2001, 1, 1, tzinfo=UTC)
"""No signed time or reading before this: it is a clock that was never set."""

EARLIEST_DATE = date(1900, 1, 1)
"""No calendar date before this (a century-old planting is still recordable)."""

LATEST_ZONE = timedelta(hours=14)
"""UTC+14, the time zone furthest ahead: no local date is later than the date there."""

COUNT_UNITS = frozenset({"piece", "head"})

DATE_FIELDS = (
    "planted_on",
    "on",
    "applied_on",
    "harvested_on",
    "started_on",
    "finished_on",
    "packed_on",
    "tested_on",
    "shipped_on",
    "received_on",
    "sold_on",
)
"""Every calendar-date field of the event bodies (schemas.events, `DateStr`)."""


@cache
def _date_fields(cls: type[BaseModel]) -> tuple[str, ...]:
    """The calendar-date fields an event class has (of DATE_FIELDS)."""
    return tuple(name for name in DATE_FIELDS if name in cls.model_fields)


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def check(ctx: Context, body: EventBody, clock_skew: int) -> None:
    """Refuse (`implausible_time`, `implausible_quantity`) what the log cannot believe."""
    check_times(ctx, body, clock_skew)
    check_quantities(ctx, body)


def check_times(ctx: Context, body: EventBody, clock_skew: int) -> None:
    """Refuse a time after the time received plus the skew, or before the floors."""
    latest = _instant(ctx.received) + timedelta(seconds=clock_skew)
    instants = [("time", ctx.time)]
    if isinstance(body, SensorReadings):
        instants += [(f"readings.{n}.at", r.at) for n, r in enumerate(body.readings)]
    for where, text in instants:
        at = _instant(text)
        if at > latest:
            ctx.refuse(
                "implausible_time",
                f"{where} {text} is after the time received {ctx.received} "
                f"plus the {clock_skew} s allowed for clock skew",
                field=where,
                value=text,
                received=ctx.received,
            )
        if at < EARLIEST_INSTANT:
            ctx.refuse(
                "implausible_time",
                f"{where} {text} is before {EARLIEST_INSTANT:%Y-%m-%d}: the clock was not set",
                field=where,
                value=text,
            )
    latest_date = (latest + LATEST_ZONE).date()
    for name in _date_fields(type(body)):
        found: object = getattr(body, name)
        if not isinstance(found, str):
            continue
        text = found
        day = date.fromisoformat(text)
        if day > latest_date:
            ctx.refuse(
                "implausible_time",
                f"{name} {text} is after the time received {ctx.received}: "
                f"no site's local date is later than {latest_date.isoformat()}",
                field=name,
                value=text,
                received=ctx.received,
            )
        if day < EARLIEST_DATE:
            ctx.refuse(
                "implausible_time",
                f"{name} {text} is before {EARLIEST_DATE.isoformat()}",
                field=name,
                value=text,
            )


def _amounts(ctx: Context, body: EventBody) -> Iterator[tuple[str, str | None, Quantity | Area]]:
    """(where, herb or None, amount) for every batch quantity the event names."""
    if isinstance(body, Planting):
        yield "area", body.herb, body.area
    elif isinstance(body, Harvest):
        yield "quantity", body.herb, body.quantity
    elif isinstance(body, FreshProcessing | Processing | Merge):
        inputs = ctx.state.get_batches([p.batch for p in body.inputs])
        herbs = {b.herb for b in inputs.values()}
        herb = herbs.pop() if len(herbs) == 1 else None
        for n, p in enumerate(body.inputs):
            record = inputs.get(p.batch)
            yield f"inputs.{n}.quantity", None if record is None else record.herb, p.quantity
        outputs = body.outputs if not isinstance(body, Merge) else [body.output]
        for n, p in enumerate(outputs):
            yield f"outputs.{n}.quantity", herb, p.quantity
    elif isinstance(body, Split):
        parent = ctx.state.get_batch(body.batch)
        for n, c in enumerate(body.children):
            yield f"children.{n}.quantity", None if parent is None else parent.herb, c.quantity
    elif isinstance(body, Pack):
        parent = ctx.state.get_batch(body.batch)
        yield "unit_quantity", None if parent is None else parent.herb, body.unit_quantity


def check_quantities(ctx: Context, body: EventBody) -> None:
    """Refuse a batch quantity beyond the catalogue's bound for its herb and kind of unit."""
    if isinstance(body, Husbandry):
        return  # a herd's head count is bounded by the schema (animals ≤ 100,000)
    for where, herb, amount in _amounts(ctx, body):
        bound = ctx.herbs.quantity_limit(herb)
        value = Decimal(amount.value)
        if quantities.is_mass(amount.unit):
            size, limit, unit = quantities.in_kg(value, amount.unit), bound.max_mass_kg, "kg"
        elif amount.unit in quantities.AREA_IN_M2:
            size, limit, unit = value * quantities.AREA_IN_M2[amount.unit], bound.max_area_m2, "m2"
        elif amount.unit in COUNT_UNITS:
            size, limit, unit = value, bound.max_count, amount.unit
        else:
            continue
        if size is not None and size > limit:
            ctx.refuse(
                "implausible_quantity",
                f"{where} {amount.value} {amount.unit} is more than the "
                f"{quantities.text(limit)} {unit} one event may name for a batch"
                f"{'' if herb is None else ' of ' + herb} ({bound.source})",
                field=where,
                value=f"{amount.value} {amount.unit}",
                limit=f"{quantities.text(limit)} {unit}",
            )
