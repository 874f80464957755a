"""The demo stories as data: valid bodies, dates in order, unique IDs, every path, GS1 numbers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from itertools import islice
from typing import Any

import pytest
from biip.gln import Gln
from biip.gtin import Gtin

from schemas.events import EVENT_TYPES, parse_body
from traceability.demo import cycle, events_from, registrations
from traceability.demo import parties as p
from traceability.demo.field_herbs import huangqi, wuweizi
from traceability.demo.ginseng import ginseng
from traceability.demo.places import SITES
from traceability.demo.stories import PERIOD, signed_before
from traceability.demo.story import Event, Story, demo_gtin
from traceability.demo.velvet import velvet

FIRST = list(islice(events_from(0), 400))
"""The first 400 demo events: what a few-hundred-event seed appends."""

DATE_FIELDS = ("planted_on", "applied_on", "harvested_on", "on", "started_on", "finished_on",
               "tested_on", "packed_on", "shipped_on", "received_on", "sold_on")  # fmt: skip


def mod10(digits: str) -> int:
    """GS1 mod-10, written out: weights 3, 1, 3, … from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def created(body: dict[str, Any]) -> list[str]:
    """The batch IDs an event body creates."""
    kind = body["type"]
    if kind in ("planting", "harvest"):
        return [body["batch"]]
    if kind == "husbandry" and body["activity"] == "established":
        return [body["herd"]]
    if kind in ("fresh_processing", "processing"):
        return [o["batch"] for o in body["outputs"]]
    if kind == "split":
        return [c["batch"] for c in body["children"]]
    if kind == "merge":
        return [body["output"]["batch"]]
    if kind == "pack":
        return [body["packed_batch"]]
    return []


def local_date(event: Event) -> date:
    """The China-time date on which the signer recorded the event."""
    return (event.time + timedelta(hours=8)).date()


def test_every_body_is_a_valid_event() -> None:
    """Every body of the registrations and of six story cycles validates as a domain event."""
    events = registrations() + [e for n in range(2 * PERIOD) for e in cycle(n)]
    for event in events:
        parse_body(event.body)
    assert len(events) > 250


def test_a_few_hundred_events_contain_every_kind() -> None:
    """The first 400 events hold every event type but `alert` (the rules sign those), and
    the herd's establishment, quarantine (with a certificate) and velvet cutting."""
    kinds = Counter(e.body["type"] for e in FIRST)
    assert set(kinds) == set(EVENT_TYPES) - {"alert"}
    activities = {e.body["activity"] for e in FIRST if e.body["type"] == "husbandry"}
    assert {"established", "quarantine", "velvet_cutting"} <= activities
    assert all(
        e.body["certificate"]
        for e in FIRST
        if e.body["type"] == "husbandry" and e.body["activity"] == "quarantine"
    )


@pytest.mark.parametrize("story", [ginseng, wuweizi, huangqi, velvet])
def test_each_story_keeps_its_dates_in_order(story: Callable[[int], Story]) -> None:
    """In each story, times never go back, and no body is dated after the day its signer
    records it (planting before harvest before processing … before sale)."""
    for n in range(2 * PERIOD):
        events = story(n).events
        times = [e.time for e in events]
        assert times == sorted(times), n
        for e in events:
            for field in DATE_FIELDS:
                if field in e.body:
                    assert date.fromisoformat(e.body[field]) <= local_date(e), (n, e.body)
            for r in e.body.get("readings", []):
                assert r["at"] <= e.time.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_story_numbers_shift_dates_later_and_keep_ids_apart() -> None:
    """Story n happens n days after story 0 (within a four-week season), and no batch,
    herd or shipment ID repeats across 60 cycles."""
    first, later = cycle(0)[0], cycle(5)[0]
    assert later.time - first.time == timedelta(days=5)
    seen: Counter[str] = Counter()
    for n in range(60):
        for e in cycle(n):
            seen.update(created(e.body))
            if e.body["type"] == "ship":
                seen[e.body["shipment"]] += 1
    assert seen
    assert [k for k, c in seen.items() if c > 1] == []


def test_events_from_any_position_continue_the_one_sequence() -> None:
    """`events_from(k)` starts exactly at event k of the whole sequence, across the
    registrations, cycle and period boundaries, and `signed_before(k)` counts each signer's
    share of the first k events."""
    whole = list(islice(events_from(0), 1200))
    for k in (0, 1, 19, 20, 21, 67, 68, 142, 143, 500, 1199):
        assert list(islice(events_from(k), 1)) == whole[k : k + 1], k
        assert signed_before(k) == Counter(e.party.label for e in whole[:k]), k


def test_a_cycle_has_the_shape_of_its_residue() -> None:
    """Cycle n has as many events per signer as cycle n mod PERIOD (what seeking relies on)."""
    for n in range(3 * PERIOD, 40):
        shape = Counter(e.party.label for e in cycle(n))
        assert shape == Counter(e.party.label for e in cycle(n % PERIOD)), n


def test_failed_then_retested_batch() -> None:
    """Story 0's 红参 fails its first test on moisture (13.4% over 12.0%), is dried again
    with drying-room readings, passes a retest, and only then is split and packed."""
    events = cycle(0)
    kinds = [(e.body["type"], e.body.get("batch"), e.body.get("result")) for e in events]
    red = "JA-HS-2026-00000"
    failed = kinds.index(("quality_test", red, "fail"))
    passed = kinds.index(("quality_test", red, "pass"))
    split = kinds.index(("split", red, None))
    assert failed < passed < split
    moisture = {m["item"]: m["value"] for m in events[failed].body["items"]}["moisture"]
    assert float(moisture) > 12.0
    dried = [e for e in events[failed:passed] if e.body["type"] == "sensor_reading"]
    assert [e.body["kind"] for e in dried] == ["drying_room"]


def test_recall_by_the_regulator_after_a_failed_surveillance_test() -> None:
    """Story 2's boxed 红参 fails a market test at the pharmacy, then the regulator recalls
    the 红参 batch it came from, the last event of its story; stories 0, 1, 3, 4 recall nothing."""
    *_, test, recall = ginseng(2).events
    assert (recall.party, recall.body["type"]) == (p.REGULATOR, "recall")
    assert recall.body["batch"] == "JA-HS-2026-00002"
    assert (test.party, test.body["batch"], test.body["result"]) == (
        p.LAB_LIMS,
        "JA-HS-2026-00002-P",
        "fail",
    )
    assert not any(e.body["type"] == "recall" for n in (0, 1, 3, 4) for e in cycle(n))


def test_one_cold_chain_excursion_per_period() -> None:
    """Story 1's cold-chain logger reads above the 20 °C of 阴凉 storage; stories 0 and 2 never."""

    def hottest(n: int) -> float:
        return max(
            float(r["temperature_c"])
            for e in cycle(n)
            if e.body["type"] == "sensor_reading" and e.body["kind"] == "cold_chain"
            for r in e.body["readings"]
        )

    assert hottest(1) > 20.0
    assert hottest(0) <= 20.0
    assert hottest(2) <= 20.0


def test_gtins_and_glns_carry_valid_check_digits() -> None:
    """Every packed product's GTIN and every site's GLN ends in its GS1 mod-10 check digit,
    and uses prefix 952, which GS1 keeps for demonstrations."""
    gtins = {e.body["product"]["gtin"] for e in FIRST if e.body["type"] == "pack"}
    assert len(gtins) == 2
    for code in gtins | {s["gln"] for s in SITES}:
        assert int(code[-1]) == mod10(code[:-1]), code
    for gtin in gtins:
        assert "demonstrations" in Gtin.parse(gtin).prefix.usage  # type: ignore[union-attr]
    for site in SITES:
        assert Gln.parse(site["gln"]).payload.startswith("952")
    assert demo_gtin("0123", "00011") == "09520123000110"  # worked by hand: sum 40, check 0


def test_gtin_of_too_many_digits_is_refused() -> None:
    """A company and item number longer than nine digits together cannot make a GTIN-14."""
    with pytest.raises(ValueError, match="exceed nine digits"):
        demo_gtin("01234", "567890")


def test_serials_are_unique_per_gtin_and_sales_sell_packed_units() -> None:
    """Serials never repeat for a GTIN across cycles, and each sale sells serials that were
    packed into the batch it names and not sold before."""
    packed: dict[str, set[str]] = {}
    by_gtin: Counter[tuple[str, str]] = Counter()
    sold: set[tuple[str, str]] = set()
    for n in range(12):
        for e in cycle(n):
            body = e.body
            if body["type"] == "pack":
                packed[body["packed_batch"]] = set(body["serials"])
                by_gtin.update((body["product"]["gtin"], s) for s in body["serials"])
            if body["type"] == "retail_sale":
                for serial in body["serials"]:
                    assert serial in packed[body["batch"]]
                    assert (body["batch"], serial) not in sold
                    sold.add((body["batch"], serial))
    assert sold
    assert max(by_gtin.values()) == 1


def test_demo_signers_are_distinct_and_act_for_registered_organisations() -> None:
    """Each demo signer has its own key, and all but the platform's registrar act for an
    organisation the demo registers."""
    assert len({s.key_id for s in p.SIGNERS}) == len(p.SIGNERS)
    registered = {e.body["id"] for e in registrations() if e.body["type"] == "organisation"}
    assert {s.organisation for s in p.SIGNERS} - registered == {p.PLATFORM}
