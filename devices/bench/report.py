"""The table `herbtrace bench ingest` prints."""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable

from devices.bench.ingest import IngestFigures
from traceability.demo.lanes import FIELD_PARTIES

MIB = 1024 * 1024


def print_figures(f: IngestFigures, say: Callable[[str], None]) -> None:
    """Print one run's figures as a Markdown table, each beside its baseline or target."""
    plan = f.plan
    raw = statistics.median(f.raw_verify)
    cores = os.cpu_count() or 1
    start, end = f.rss[0], f.rss[-1]
    peak_own = max(s[1] for s in f.rss)
    peak_all = max(s[2] for s in f.rss)
    say(
        f"\nherbtrace bench ingest --devices {plan.devices} --events {plan.events} "
        f"--backend {f.backend} --rate {plan.rate:g} --seconds {plan.seconds:g} "
        f"--gateways {plan.gateways}{' --rules' if plan.rules else ''} "
        f"({cores} cores; broker, gateway and publishers share them)\n"
    )
    if plan.rules:
        say(
            f"rules on: {plan.lanes} lanes of the demo stories, {plan.device_count} devices "
            f"({len(FIELD_PARTIES)} a lane, one per field party), after {f.prologue} "
            "entries of registrations\n"
        )
    rows = [
        ("raw Ed25519 verify, one core (median of 3 in the run)", f"{raw:,.0f}/s", "baseline"),
        (
            f"burst: {f.burst.sent:,} envelopes, first publish → last receipt",
            f"{f.burst_rate:,.0f}/s",
            "≥ 3,000/s (aim 10,000/s)",
        ),
        ("burst rate ÷ raw verify (one core)", f"{f.burst_rate / raw:.2f}", "—"),
        ("burst receipts", _statuses(f.burst.statuses), "all accepted"),
        (
            f"steady phase: {f.paced.sent:,} envelopes at {plan.rate:,.0f}/s offered",
            f"{f.paced_rate:,.0f}/s",
            "—",
        ),
        ("publish → receipt latency p50", f"{f.latency(0.50) * 1000:,.1f} ms", "—"),
        ("publish → receipt latency p99", f"{f.latency(0.99) * 1000:,.1f} ms", "≤ 250 ms"),
        ("latency max", f"{max(f.paced.latencies, default=0) * 1000:,.1f} ms", "—"),
        ("steady receipts", _statuses(f.paced.statuses), "all accepted"),
        (
            f"{'gateway' if plan.gateways == 1 else f'{plan.gateways} gateways (sum)'} "
            "RSS at start → end (peak)",
            f"{start[1] / MIB:.0f} → {end[1] / MIB:.0f} MiB ({peak_own / MIB:.0f})",
            "flat, ≤ 200 MB",
        ),
        (
            "its heap (RSS without mapped files) at start, ¼, ½, ¾, end",
            " → ".join(f"{f.rss[k][3] / MIB:.0f}" for k in _quarters(len(f.rss))) + " MiB",
            "flat",
        ),
        (
            "with its verify workers, start → end (peak)",
            f"{start[2] / MIB:.0f} → {end[2] / MIB:.0f} MiB ({peak_all / MIB:.0f})",
            "—",
        ),
        (
            "log size after the run",
            f"{f.log_size:,}",
            f"{f.prologue + f.burst.sent + f.paced.sent + f.alerts:,}",
        ),
    ]
    if plan.rules:
        rows.append(("alerts the rules raised (in the log size)", f"{f.alerts:,}", "—"))
        rows.append(("audit of the log (as herbtrace verify)", f.audit, "OK"))
        rows.append(("indexes rebuilt from the log (as reindex --check)", f.reindex, "the same"))
    sent = max(f.burst.sent, 1)
    for kind, seconds in f.burst_cpu.items():
        rows.append((f"burst CPU per envelope: {kind}", f"{seconds / sent * 1e6:,.0f} µs", "—"))
    say("| figure | measured | target |")
    say("|---|---|---|")
    for name, value, target in rows:
        say(f"| {name} | {value} | {target} |")


def _quarters(n: int) -> list[int]:
    return [min(n - 1, round(q * (n - 1))) for q in (0, 0.25, 0.5, 0.75, 1)]


def _statuses(counts: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items())) or "none"
