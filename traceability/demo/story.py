"""The building blocks of a demo story: events with their times, dates, quantities, GTINs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, NamedTuple

from traceability.demo.parties import CARRIER_NAME, DemoSigner
from traceability.demo.places import DEMO_GS1_PREFIX
from traceability.digital_link import gtin_check_digit

CHINA = timedelta(hours=8)
"""China Standard Time is UTC+8 all year."""

SEASON_SPREAD = 28
"""Story n happens n mod 28 days after story 0: a season's batches spread over four weeks."""


class Event(NamedTuple):
    """One demo event: who signs it, its body, and when the signer records it (UTC)."""

    party: DemoSigner
    body: dict[str, Any]
    time: datetime


def utc_text(moment: datetime) -> str:
    """Return an aware datetime as the envelope's RFC 3339 `time`: YYYY-MM-DDTHH:MM:SSZ."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def kg(value: Decimal) -> dict[str, str]:
    """A mass in kilograms to the gram, rounded down so a yield is never overstated."""
    return {"value": str(value.quantize(Decimal("0.001"), rounding=ROUND_DOWN)), "unit": "kg"}


def grams(value: int) -> dict[str, str]:
    """A whole number of grams."""
    return {"value": str(value), "unit": "g"}


def demo_gtin(company: str, item: str) -> str:
    """Return a GTIN-14: 0, prefix 952, the company and item numbers, the GS1 check digit.

    The 12 digits before the check digit are `952` || company || item (zero-padded to 9
    digits together); the check digit is GS1 mod-10 (weights 3, 1, 3, … from the right).
    """
    body = "0" + DEMO_GS1_PREFIX + (company + item).zfill(9)
    if len(body) != 13:
        raise ValueError(f"company {company!r} and item {item!r} exceed nine digits")
    return body + str(gtin_check_digit(body))


@dataclass
class Story:
    """Accumulates one story's events; story `n` is told `n mod SEASON_SPREAD` days later.

    Dates are written as story 0's calendar (`self.on(2026, 9, 15)`), shifted for story n.
    An event recorded on a date gets the time 09:00 China time plus a minute per event
    already recorded that day, so the events of a story keep their order in time.
    """

    n: int
    events: list[Event] = field(default_factory=list)

    @property
    def shift(self) -> timedelta:
        return timedelta(days=self.n % SEASON_SPREAD)

    def on(self, year: int, month: int, day: int) -> date:
        """Story 0's date `year-month-day`, as this story's date."""
        return date(year, month, day) + self.shift

    def add(self, party: DemoSigner, on: date, body: dict[str, Any], hour: int = 9) -> None:
        """Record `body`, signed by `party`, on local date `on` at about `hour` o'clock."""
        local = datetime.combine(on, time(hour), tzinfo=UTC) - CHINA
        same_day = sum(1 for e in self.events if e.time.date() == local.date())
        self.events.append(Event(party, body, local + timedelta(minutes=same_day)))

    def add_at(self, party: DemoSigner, moment: datetime, body: dict[str, Any]) -> None:
        """Record `body` at an exact UTC moment (sensor uploads)."""
        self.events.append(Event(party, body, moment))

    def ship(
        self, party: DemoSigner, shipment: str, batch: str, to: str, site: str, on: date
    ) -> None:
        """`party` sends `batch` to organisation `to`'s `site` with the demo carrier at 07:00."""
        body = {
            "type": "ship",
            "shipment": shipment,
            "batches": [batch],
            "to": to,
            "to_site": site,
            "carrier": CARRIER_NAME,
            "shipped_on": iso(on),
        }
        self.add(party, on, body, hour=7)

    def receive(
        self,
        party: DemoSigner,
        shipment: str,
        batch: str,
        sender: str,
        site: str,
        on: date,
        hour: int = 16,
    ) -> None:
        """`party` confirms the shipment from organisation `sender` at its `site`."""
        body = {
            "type": "receive",
            "shipment": shipment,
            "batches": [batch],
            "sender": sender,
            "site": site,
            "received_on": iso(on),
        }
        self.add(party, on, body, hour=hour)


def local_moment(on: date, hour: int, minute: int = 0) -> datetime:
    """The UTC moment of `hour:minute` China time on `on`."""
    return datetime.combine(on, time(hour, minute), tzinfo=UTC) - CHINA


def iso(on: date) -> str:
    """A date as the bodies write it: YYYY-MM-DD."""
    return on.isoformat()


def serials(prefix: str, n: int, count: int) -> list[str]:
    """`count` distinct serial numbers of story n: prefix, the story number, a unit number."""
    return [f"{prefix}{n:07d}{i:04d}" for i in range(1, count + 1)]
