"""Lineage: backward and forward traces agree with a naive traversal of generated DAGs."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from read_support import read
from story import COOP, StandInHerbs, World, body

from traceability.domain.batches import read_batch
from traceability.domain.lineage import trace_backward, trace_forward, trace_unit
from traceability.domain.service import Domain
from traceability.ledger import initialise
from traceability.settings import Settings
from traceability.storage.db import make_engine

GTIN = "06901234567892"
SITE = "site-fusong-wanliang"

Op = tuple[str, int, int]
"""(kind, pick, size): kind is split/merge/transform/pack; pick chooses inputs; size counts."""

OPS = st.lists(
    st.tuples(
        st.sampled_from(["split", "merge", "transform", "pack"]),
        st.integers(0, 1000),
        st.integers(1, 3),
    ),
    min_size=1,
    max_size=12,
)


@dataclass
class Model:
    """What the test recorded: edges and the log entries indexed under each batch."""

    parents: dict[str, set[str]] = field(default_factory=dict)
    events: dict[str, set[int]] = field(default_factory=dict)
    units: dict[str, set[str]] = field(default_factory=dict)
    left: dict[str, Decimal] = field(default_factory=dict)

    def event(self, index: int, batches: list[str]) -> None:
        for b in batches:
            self.events.setdefault(b, set()).add(index)

    def link(self, parents: list[str], children: list[str]) -> None:
        for c in children:
            self.parents.setdefault(c, set()).update(parents)

    def ancestors(self, batch: str) -> set[str]:
        seen, stack = {batch}, [batch]
        while stack:
            for p in self.parents.get(stack.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    def descendants(self, batch: str) -> set[str]:
        return {b for b in self.parents | {batch: set()} if batch in self.ancestors(b)}


@dataclass
class Bench:
    """A SQLite Domain shared by the generated examples, with its model."""

    world: World
    model: Model
    counter: Iterator[int]


@pytest.fixture(name="bench", scope="module")
def _bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """One SQLite database for all examples; each example grows its own DAG from one planting."""
    path: Path = tmp_path_factory.mktemp("lineage") / "lineage.db"
    config = Settings(
        database_url=f"sqlite:///{path}", log_origin="test.herbtrace/log", checkpoint_interval=0.05
    )
    engine = make_engine(config.database_url)
    initialise(config, engine)
    domain = Domain(config, engine, herbs=StandInHerbs())
    world = World(domain)
    world.register_all()
    model = Model()
    index = world.ok(COOP, body("planting"))
    model.event(index, ["FS-PL-2020-001"])
    yield Bench(world, model, itertools.count())
    domain.close()
    engine.dispose()


def _part(amount: Decimal) -> Decimal:
    return (amount / 3).quantize(Decimal("0.001"), rounding=ROUND_DOWN)


def _portion(batch: str, amount: Decimal) -> dict[str, Any]:
    return {"batch": batch, "quantity": {"value": format(amount, "f"), "unit": "kg"}}


def grow(bench: Bench, ops: list[Op]) -> list[str]:
    """Record a harvest and the generated operations on it; return every batch made."""
    world, model = bench.world, bench.model
    ex = next(bench.counter)
    names = (f"E{ex}-{n}" for n in itertools.count())
    root = next(names)
    harvest = body("harvest", batch=root, quantity={"value": "900", "unit": "kg"})
    model.event(world.ok(COOP, harvest), ["FS-PL-2020-001", root])
    model.link(["FS-PL-2020-001"], [root])
    model.left[root] = Decimal(900)
    made = [root]
    for kind, pick, size in ops:
        active = [b for b in made if model.left.get(b, Decimal(0)) >= Decimal("0.01")]
        if not active:
            break
        first = active[pick % len(active)]
        if kind == "merge" and len(active) < 2:
            kind = "split"
        if kind == "split":
            children = [next(names) for _ in range(size)]
            share = _part(model.left[first])
            event = body("split", batch=first, children=[_portion(c, share) for c in children])
            parents, outs = [first], children
        elif kind == "merge":
            second = active[(pick + 1) % len(active)]
            out = next(names)
            a, b = _part(model.left[first]), _part(model.left[second])
            event = body(
                "merge",
                inputs=[_portion(first, a), _portion(second, b)],
                output=_portion(out, a + b),
            )
            parents, outs = [first, second], [out]
        elif kind == "transform":
            outs = [next(names) for _ in range(size)]
            taken = _part(model.left[first])
            each = (taken / (size + 1)).quantize(Decimal("0.001"), rounding=ROUND_DOWN)
            event = body(
                "processing",
                inputs=[_portion(first, taken)],
                outputs=[_portion(o, each) for o in outs],
                steps=["slicing"],
                site=SITE,
            )
            parents = [first]
        else:
            packed = next(names)
            serials = [f"{packed}-{i}" for i in range(size)]
            event = body(
                "pack",
                batch=first,
                packed_batch=packed,
                serials=serials,
                unit_quantity={"value": "0.001", "unit": "kg"},
                product={"gtin": GTIN, "lot": packed},
            )
            parents, outs = [first], [packed]
            model.units[packed] = set(serials)
        index = world.ok(COOP, event)
        model.event(index, parents + outs)
        model.link(parents, outs)
        for p in parents:
            model.left[p] = Decimal(read(world.domain.engine, read_batch, p).remaining)
        for o in outs:
            if o not in model.units:
                model.left[o] = Decimal(read(world.domain.engine, read_batch, o).remaining)
        made.extend(outs)
    return made


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_traces_agree_with_a_naive_traversal(bench: Bench, ops: list[Op]) -> None:
    """For every batch of a generated DAG, both traces find exactly what the naive walk finds."""
    made = grow(bench, ops)
    model, domain = bench.model, bench.world.domain
    for batch in made:
        back = read(domain.engine, trace_backward, batch)
        up = model.ancestors(batch)
        assert {b.id for b in back.batches} == up
        assert {b.id for b in back.origins} == {b for b in up if not model.parents.get(b)}
        expected = set().union(*(model.events.get(b, set()) for b in up))
        assert {e.log_index for e in back.events} == expected
        assert {(e.parent, e.child) for e in back.edges} == {
            (p, c) for c in up for p in model.parents.get(c, ())
        }
        forward = read(domain.engine, trace_forward, batch)
        down = model.descendants(batch)
        assert {b.id for b in forward.batches} == down
        assert {(u.batch, u.serial) for u in forward.units} == {
            (b, s) for b in down for s in model.units.get(b, ())
        }


def test_a_unit_traces_back_to_every_origin_through_a_merge(world: World) -> None:
    """A unit packed from a merge of two harvests reaches both plantings, with every entry."""
    world.ok(COOP, body("planting"))
    world.ok(COOP, body("planting", batch="FS-PL-2021-002", planted_on="2021-04-20"))
    world.ok(COOP, body("harvest", batch="H1", growing_years=None))
    world.ok(COOP, body("harvest", batch="H2", origin="FS-PL-2021-002", growing_years=None))
    merge = body(
        "merge",
        inputs=[_portion("H1", Decimal(10)), _portion("H2", Decimal(10))],
        output=_portion("M", Decimal(20)),
    )
    merged = world.ok(COOP, merge)
    world.ok(COOP, body("pack", batch="M", packed_batch="P", serials=["1", "2"]))
    trace = read(world.domain.engine, trace_unit, GTIN, "2")
    assert {o.id for o in trace.origins} == {"FS-PL-2020-001", "FS-PL-2021-002"}
    assert [e.type for e in trace.events] == [
        "planting",
        "planting",
        "harvest",
        "harvest",
        "merge",
        "pack",
    ]
    assert {e.event_index for e in trace.edges if e.child == "M"} == {merged}
    forward = read(world.domain.engine, trace_forward, "FS-PL-2021-002")
    assert [b.id for b in forward.batches] == ["FS-PL-2021-002", "H2", "M", "P"]
    assert [u.serial for u in forward.units] == ["1", "2"]


def test_a_backward_trace_names_each_events_log_index(world: World) -> None:
    """Every event on a unit's trace is the log entry of that type, concerning those batches."""
    world.packed()
    trace = read(world.domain.engine, trace_unit, GTIN, "0001")
    assert [b.id for b in trace.origins] == ["FS-PL-2020-001"]
    assert [e.type for e in trace.events] == [
        "planting", "harvest", "fresh_processing", "ship", "receive",
        "processing", "quality_test", "split", "pack",
    ]  # fmt: skip
    for event in trace.events:
        _leaf, _hash, entry = world.domain.ledger.entry(event.log_index)
        assert json.loads(entry.payload_bytes)["body"]["type"] == event.type
    data = trace.to_json()
    assert data["events"][0]["batches"] == ["FS-PL-2020-001"]
    assert json.dumps(data)  # plain JSON data
