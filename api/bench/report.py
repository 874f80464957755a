"""The lookup benchmark's printed table: figures side by side, the ratio, the checks."""

from __future__ import annotations

import math
import os
import statistics

from api.bench.app import TRIVIAL_PATH
from api.bench.lookup import SATURATION, LookupFigures, Series, kinds

TARGET_RATE = 1_000.0
"""Lookups per second the resolver must sustain on SQLite (herbtrace issue 5)."""
TARGET_P99_MS = 50.0
COLD_TARGET_RATE = 500.0
"""The offered rate at which cold lookups' p99 must be within TARGET_P99_MS (issue 12)."""


def _row(figures: LookupFigures, which: dict[str, Series]) -> list[float]:
    """rate, p50 and p99 at saturation; p50 and p99 at each paced rate; server µs/request."""
    columns = kinds(figures.plan)
    saturated = which[SATURATION]
    cells = [saturated.rate, saturated.latency(0.5), saturated.latency(0.99)]
    for kind in columns[1:]:
        cells += [which[kind].latency(0.5), which[kind].latency(0.99)]
    return [*cells, saturated.server_us]


def _format(label: str, cells: list[float], ratio: bool = False) -> str:
    """A row: the rate, latencies, and server CPU (wider column) after a 34-wide label."""
    text = []
    for i, value in enumerate(cells):
        last = i == len(cells) - 1
        width = 11 if last else 9
        if math.isnan(value):
            text.append(f"{'—':>{width}}")
        elif ratio or not (i == 0 or last):
            text.append(f"{value:{width}.2f}")
        else:
            text.append(f"{value:{width},.0f}")
    return f"{label:<34}" + "".join(text)


def table(figures: LookupFigures) -> list[str]:
    """The run's figures as lines of text: the table, the client's ceiling, the checks."""
    plan, data = figures.plan, figures.data
    columns = kinds(plan)
    workers = f"{plan.workers} uvicorn worker{'s' if plan.workers > 1 else ''}"
    head = f"{'':<34}{'saturation':>27}"
    for kind in columns[1:]:
        head += f"{'at ' + kind:>18}"
    head += f"{'server':>11}"
    names = f"{'endpoint':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
    names += f"{'p50 ms':>9}{'p99 ms':>9}" * (len(columns) - 1) + f"{'CPU µs/req':>11}"
    trivial = _row(figures, figures.trivial)
    lookup = _row(figures, figures.lookup)
    lines = [
        f"herbtrace bench lookup: {data.backend}, {workers}, {plan.connections} connections, "
        f"{plan.rounds} round(s) of {plan.seconds:g} s per figure after {plan.warmup:g} s "
        "warm-up (medians of the rounds)",
        f"machine: {os.cpu_count()} cores, load average {figures.load[0]:.1f} at the start "
        f"and {figures.load[1]:.1f} at the end of these measurements",
        f"data: unit {data.path} with a {data.history}-event history; log of "
        f"{data.log_size:,} entries ({data.background:,} demo events), {data.batches:,} "
        f"batches; built in {data.seconds:.1f} s",
        head,
        names,
        _format(f"trivial (GET {TRIVIAL_PATH})", trivial),
        _format("QR JSON lookup (cached)", lookup),
        _format("lookup ÷ trivial", [a / b for a, b in zip(lookup, trivial, strict=True)], True),
    ]
    if figures.uncached is not None:
        u = figures.uncached
        cells = [u.rate, u.latency(0.5), u.latency(0.99)]
        cells += [math.nan] * (2 * (len(columns) - 1)) + [u.server_us]
        lines.append(_format("QR JSON lookup, facts recomputed", cells))
    if figures.growing is not None:
        g = figures.growing
        cells = [g.rate, g.latency(0.5), g.latency(0.99)]
        cells += [math.nan] * (2 * (len(columns) - 1)) + [g.server_us]
        lines.append(_format("QR JSON lookup, log growing", cells))
        accepted, refused, seconds = figures.grown
        lines.append(
            f"log growing: {accepted:,} demo events appended on other batches in {seconds:.1f} s "
            f"({accepted / seconds if seconds else 0:,.0f}/s; {refused} refused) while it was "
            "measured: after each append the next lookup finds the log grown and checks its "
            "kept facts"
        )
    client_us = figures.trivial[SATURATION].client_us
    lines.append(
        f"client: {client_us:.0f} µs CPU per request at saturation on the trivial route, so "
        f"one client process drives at most ≈ {1e6 / client_us:,.0f} requests/s"
    )
    wrong = figures.problems()
    steps = len(figures.reference.get("steps", []))  # type: ignore[arg-type]
    checked = f"checked {figures.lookup_answers():,} lookup answers: "
    if wrong:
        lines.append(checked + "SOME WERE WRONG")
        lines += [f"  {line}" for line in wrong]
    else:
        lines.append(
            checked + f"all 200 with unit {data.link.serial}'s facts ({steps} steps, "
            f"batch {data.batch}), byte for byte"
        )
    lines += _verdict(figures)
    if figures.cold:
        lines += _cold(figures, trivial)
    return lines


def _cold(figures: LookupFigures, trivial: list[float]) -> list[str]:
    """The cold phase's rows beside the trivial route's, its checks and its target."""
    units = figures.cold_units
    assert units is not None  # noqa: S101 - measured together with the cold series
    saturated = figures.cold[SATURATION].results
    asked = statistics.median(len(r.asked) for r in saturated)
    once = statistics.median(r.once / len(r.asked) if r.asked else 0.0 for r in saturated)
    fewer = f" (all the database holds; {figures.plan.units:,} asked)"
    lines = [
        f"cold: lookups spread over {len(units.paths):,} units"
        + (fewer if len(units.paths) < figures.plan.units else "")
        + f" in {units.batches:,} batches, drawn Zipf-like (weight 1/k^{figures.plan.zipf:g}), "
        "each figure on a fresh server that first looked up another unit of each batch; "
        f"at saturation {asked:,.0f} units asked, "
        f"{once:.0%} of them once",
    ]
    cold = _row(figures, figures.cold)
    lines.append(_format("QR JSON lookup, cold", cold))
    ratio = [a / b for a, b in zip(cold, trivial, strict=True)]
    lines.append(_format("cold ÷ trivial", ratio, True))
    answers = sum(r.answers for s in figures.cold.values() for r in s.results)
    wrong = sum(not r.all_right for s in figures.cold.values() for r in s.results)
    lines.append(
        f"checked {answers:,} cold lookup answers: "
        + (
            "SOME WERE WRONG (see above)"
            if wrong
            else "all 200, each naming its unit and batch, the same bytes each time asked"
        )
    )
    return lines + _verdict(figures, figures.cold, COLD_TARGET_RATE, "cold lookups")


def _verdict(
    figures: LookupFigures,
    which: dict[str, Series] | None = None,
    p99_rate: float = TARGET_RATE,
    what: str = "lookups",
) -> list[str]:
    """Whether `which` (the cached lookup's series by default) met the rate at saturation,
    and the p99 at `p99_rate` offered (at saturation if that rate was not measured)."""
    which = figures.lookup if which is None else which
    saturated = which[SATURATION]
    at_target = which.get(f"{p99_rate:g}/s")
    where = f"at {p99_rate:,.0f}/s offered" if at_target else "at saturation"
    p99 = (at_target or saturated).latency(0.99)
    rate_ok = saturated.rate >= TARGET_RATE
    p99_ok = p99 <= TARGET_P99_MS
    return [
        f"target ≥ {TARGET_RATE:,.0f} {what}/s: {saturated.rate:,.0f}/s, "
        f"{'met' if rate_ok else 'NOT met'}; p99 ≤ {TARGET_P99_MS:g} ms {where}: "
        f"{p99:.1f} ms, {'met' if p99_ok else 'NOT met'}"
    ]
