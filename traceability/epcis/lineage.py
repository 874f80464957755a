"""Which batches an event body consumes and produces, and a batch's lineage over a set of bodies.

This is an in-memory walk over the bodies being exported, enough for `export epcis --batch`;
the domain's stored lineage queries can replace it without changing the export.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from traceability.errors import NotFound

Json = dict[str, Any]


def batch_flow(body: Json) -> tuple[set[str], set[str]]:
    """Return (batches the event takes in, batches it produces or concerns)."""
    kind = body.get("type")
    if kind == "harvest":
        return {body["origin"]}, {body["batch"]}
    if kind in ("fresh_processing", "processing"):
        return {p["batch"] for p in body["inputs"]}, {p["batch"] for p in body["outputs"]}
    if kind == "split":
        return {body["batch"]}, {c["batch"] for c in body["children"]}
    if kind == "merge":
        return {p["batch"] for p in body["inputs"]}, {body["output"]["batch"]}
    if kind == "pack":
        return {body["batch"]}, {body["packed_batch"]}
    if kind == "husbandry":
        return set(), {body["herd"]}
    if kind in ("sensor_reading", "ship", "receive"):
        return set(), set(body["batches"])
    if body.get("batch") is not None:  # planting, inputs, tests, sales, recalls, alerts
        return set(), {body["batch"]}
    return set(), set()


def lineage(batch: str, bodies: Iterable[Json]) -> set[str]:
    """Return `batch` with every batch it came from and every batch made from it."""
    parents: dict[str, set[str]] = defaultdict(set)
    children: dict[str, set[str]] = defaultdict(set)
    known: set[str] = set()
    for body in bodies:
        inputs, outputs = batch_flow(body)
        known |= inputs | outputs
        for out in outputs:
            parents[out] |= inputs - {out}
        for source in inputs:
            children[source] |= outputs - {source}
    if batch not in known:
        raise NotFound(f"no exported event names batch {batch}")
    return {batch} | _reach(batch, parents) | _reach(batch, children)


def _reach(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def touches(body: Json, batches: set[str]) -> bool:
    """Say whether an event body names any of `batches`."""
    inputs, outputs = batch_flow(body)
    return bool((inputs | outputs) & batches)
