"""`herbtrace bench ingest`: devices → Mosquitto → gateway(s) → log → receipts, measured.

Two phases on one log: a burst (every device publishes its share as fast as its window of
un-receipted envelopes allows) gives the sustained rate until receipt; then a steady rate
(default 1,000 envelopes/s) gives publish→receipt latency. The raw Ed25519 verify rate is
measured in the same run, and the gateway's resident memory is sampled throughout.

With `rules`, the gateway applies the domain rules and the devices tell the demo stories on
real batches (`devices.bench.stories`); afterwards the log is audited as `herbtrace verify`
does and the indexes are rebuilt and compared as `herbtrace reindex --check` does. Several
gateways with the rules each take a partition of the devices (`herbtrace ingest --partition`),
so each device's stories are appended in order; without the rules they share the load
through the shared subscription.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from devices.bench.gateways import GatewayProcess, cpu_seconds
from devices.bench.publisher import (
    DeviceSpec,
    PhaseResult,
    PublisherSpec,
    merge_results,
    run_publisher,
)
from devices.bench.stories import lane_signer
from devices.broker import LocalBroker
from traceability.bench.ledger import raw_verify_rate
from traceability.demo.lanes import FIELD_PARTIES, site_of
from traceability.enrolment import enrol_device
from traceability.errors import ConfigurationError
from traceability.keys import key_id_for, raw_public_key
from traceability.ledger import Ledger, initialise
from traceability.settings import Settings

ORIGIN = "bench.herbtrace/log"


@dataclass(frozen=True)
class IngestPlan:
    """What to run: devices, envelopes, the steady rate and how many processes."""

    devices: int = 50
    events: int = 20_000
    rate: float = 1_000.0
    seconds: float = 10.0
    gateways: int = 1
    publishers: int = 2
    gateway_args: tuple[str, ...] = ("--no-rules",)
    """Extra `herbtrace ingest` options. Without `rules` the devices send sensor readings
    on no batch the domain knows, so the rules are off: this measures ingest alone."""
    rules: bool = False
    """The rules on, and the devices telling the demo stories, a lane of devices each."""

    @property
    def lanes(self) -> int:
        """With `rules`: story lanes, one device per field party each (at least one)."""
        return max(1, self.devices // len(FIELD_PARTIES))

    @property
    def gateway_options(self) -> tuple[str, ...]:
        """The `herbtrace ingest` options: `gateway_args`, without `--no-rules` when `rules`."""
        return tuple(a for a in self.gateway_args if not (self.rules and a == "--no-rules"))

    @property
    def device_count(self) -> int:
        """How many devices publish."""
        return self.lanes * len(FIELD_PARTIES) if self.rules else self.devices


@dataclass
class IngestFigures:
    """What one run measured."""

    backend: str
    plan: IngestPlan
    burst: PhaseResult
    paced: PhaseResult
    raw_verify: list[float]
    log_size: int
    rss: list[tuple[float, int, int, int]] = field(default_factory=list)
    """(seconds since the gateways started, gateway RSS, with its workers, its heap part)."""
    burst_cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds each kind of process used during the burst."""
    prologue: int = 0
    """Entries recorded before the devices published (with the rules: registrations)."""
    audit: str = ""
    """With the rules: what the audit of the whole log found."""
    reindex: str = ""
    """With the rules: whether the rebuilt indexes equal the gateway's."""
    alerts: int = 0
    """With the rules: alerts the rules raised, each logged as an entry of its own (the
    gateway logs them as they are raised)."""

    @property
    def burst_rate(self) -> float:
        """Envelopes per second from the first publish to the last receipt."""
        span = self.burst.last_receipt - self.burst.first_send
        return self.burst.sent / span if span > 0 else 0.0

    @property
    def paced_rate(self) -> float:
        """The rate the steady phase achieved."""
        span = self.paced.last_receipt - self.paced.first_send
        return self.paced.sent / span if span > 0 else 0.0

    def latency(self, quantile: float) -> float:
        """Publish→receipt latency of the steady phase at `quantile`, in seconds."""
        values = sorted(self.paced.latencies)
        return values[min(len(values) - 1, int(quantile * len(values)))] if values else 0.0


def measure_ingest(
    database_url: str, backend: str, plan: IngestPlan, say: Callable[[str], None]
) -> IngestFigures:
    """Run both phases on a fresh log at `database_url` and a broker of the run's own."""
    settings = Settings(database_url=database_url, log_origin=ORIGIN)
    initialise(settings)
    with tempfile.TemporaryDirectory(prefix="herbtrace-bench-") as tmp:
        broker = LocalBroker(Path(tmp) / "broker")
        broker.start()
        try:
            figures = _run(settings, backend, plan, broker, say)
        finally:
            broker.stop()
    if plan.rules:
        say("checking the log: audit, then rebuilt indexes")
        figures.audit, figures.reindex, figures.alerts = _check(settings)
    return figures


def _check(settings: Settings) -> tuple[str, str, int]:
    """The audit of the whole log and `reindex --check`, each in a few words; and how many
    alerts were logged."""
    from traceability.demo.parties import published_demo_keys
    from traceability.domain.alerts import list_alerts
    from traceability.domain.paging import MAX_LIMIT
    from traceability.domain.service import Domain
    from traceability.log.audit import Auditor
    from traceability.log.audit_sources import DatabaseSource
    from traceability.log.log_key import load_log_verifier

    with Ledger(settings, writable=False) as ledger:
        with ledger.engine.connect() as conn:
            verifier = load_log_verifier(conn, settings.log_origin)
        auditor = Auditor(verifier, published_keys=published_demo_keys(), published_keys_fail=False)
        audit = auditor.run(DatabaseSource(ledger.engine))
    first = audit.first()
    found = "OK" if audit.ok else f"FAILED: {first.what if first else audit.key_findings[0].what}"
    with Domain(settings) as domain:
        rebuilt = domain.reindex(check=True)
        with domain.engine.connect() as conn:
            alerted, after = 0, None
            while page := list_alerts(conn, after=after, limit=MAX_LIMIT):
                alerted, after = alerted + len(page), page[-1].id
    skipped = sum(rebuilt.skipped.values())
    if rebuilt.changed == [] and not skipped:
        same = f"the same ({rebuilt.applied:,} entries applied)"
    else:
        same = f"DIFFERENT: {', '.join(rebuilt.changed or [])}; {skipped:,} entries skipped"
    return f"{found} ({audit.entries:,} entries)", same, alerted


def _run(
    settings: Settings,
    backend: str,
    plan: IngestPlan,
    broker: LocalBroker,
    say: Callable[[str], None],
) -> IngestFigures:
    if plan.rules:
        seeds, prologue = _enrol_lanes(settings, plan.lanes)
    else:
        prologue = 0
        seeds = [hashlib.sha256(f"bench device {i}".encode()).digest() for i in range(plan.devices)]
        with Ledger(settings, writable=False) as ledger:
            for seed in seeds:
                key = raw_public_key(Ed25519PrivateKey.from_private_bytes(seed))
                enrol_device(
                    ledger.engine, public_key=key, organisation="抚松县人参合作社", site="晾晒棚"
                )
    # Written into the stopped broker's state file: the running broker's plugin rewrites
    # its whole state file on every change, which makes thousands of accounts slow to add.
    broker.stop()
    credentials = broker.add_clients([_key_id(seed) for seed in seeds])
    broker.start()
    env = {
        "HERBTRACE_DATABASE_URL": settings.database_url,
        "HERBTRACE_LOG_ORIGIN": ORIGIN,
        "HERBTRACE_MQTT_HOST": broker.host,
        "HERBTRACE_MQTT_PORT": str(broker.port),
    }
    gateways = []
    for n in range(plan.gateways):  # each gateway process logs in with an account of its own
        account = broker.add_gateway(f"bench-gateway-{n}")
        own = {
            "HERBTRACE_MQTT_USERNAME": account.username,
            "HERBTRACE_MQTT_PASSWORD": account.password,
        }
        if plan.rules and plan.gateways > 1:  # one device's stories, in order, to one gateway
            own["HERBTRACE_INGEST_PARTITION"] = f"{n + 1}/{plan.gateways}"
        gateways.append(GatewayProcess(env | own, *plan.gateway_options))
    publishers: list[multiprocessing.process.BaseProcess] = []
    try:
        for gateway in gateways:
            gateway.wait_ready()
        samples: list[tuple[float, int, int, int]] = []
        sampling = threading.Event()
        sampler = threading.Thread(target=_sample, args=(gateways, samples, sampling), daemon=True)
        sampler.start()
        specs = _split(plan, seeds, [c.password for c in credentials], broker)
        context = multiprocessing.get_context("spawn")
        pipes = []
        for spec in specs:
            parent, child = context.Pipe()
            process: multiprocessing.process.BaseProcess = context.Process(
                target=run_publisher, args=(spec, child), daemon=True
            )
            process.start()
            publishers.append(process)
            pipes.append(parent)
        for pipe in pipes:
            _expect(pipe, 300, "ready")
        raw = [raw_verify_rate(1.0)]
        say(f"burst: {plan.events:,} envelopes from {plan.device_count} devices")
        before = _cpu(gateways, broker, publishers)
        burst = _phase(pipes)
        used = {k: v - before[k] for k, v in _cpu(gateways, broker, publishers).items()}
        raw.append(raw_verify_rate(1.0))
        say(f"steady: {plan.rate:,.0f} envelopes/s for {plan.seconds:.0f}s")
        paced = _phase(pipes)
        raw.append(raw_verify_rate(1.0))
        sampling.set()
        sampler.join()
        with Ledger(settings, writable=False) as ledger:
            size = ledger.size()
        return IngestFigures(backend, plan, burst, paced, raw, size, samples, used, prologue)
    finally:
        for gateway in gateways:
            gateway.stop()
        for process in publishers:
            process.join(10)
            if process.is_alive():
                process.kill()


def _enrol_lanes(settings: Settings, lanes: int) -> tuple[list[bytes], int]:
    """Record the registrar's registrations, then enrol every lane's devices; return the
    devices' key seeds (lane by lane) and the log's size before they publish."""
    from traceability.demo.seed import seed_events
    from traceability.demo.stories import registrations
    from traceability.domain.service import Domain

    seeds = []
    with Domain(settings) as domain:
        results = seed_events(domain, len(registrations()))
        refused = [r for r in results if r.status != "accepted"]
        if refused:
            raise ConfigurationError(f"the registrations were refused: {refused[0].reason}")
        for lane in range(lanes):
            for party in FIELD_PARTIES:
                signer = lane_signer(lane, party)
                enrol_device(
                    domain.engine,
                    public_key=signer.public_key,
                    organisation=party.organisation,
                    site=site_of(party),
                    name=f"{party.name} {lane}",
                    role=party.role,
                )
                seeds.append(signer.key.private_bytes_raw())
        prologue = domain.ledger.size()
    return seeds, prologue


def _cpu(
    gateways: list[GatewayProcess],
    broker: LocalBroker,
    publishers: list[multiprocessing.process.BaseProcess],
) -> dict[str, float]:
    own = [g.cpu() for g in gateways]
    return {
        "gateway": sum(o for o, _ in own),
        "verify workers": sum(w for _, w in own),
        "broker": cpu_seconds(broker.pid or 0),
        "publishers": sum(cpu_seconds(p.pid or 0) for p in publishers),
    }


def _split(
    plan: IngestPlan, seeds: list[bytes], passwords: list[str], broker: LocalBroker
) -> list[PublisherSpec]:
    if plan.rules:
        return _split_lanes(plan, seeds, passwords, broker)
    burst = max(1, plan.events // plan.devices)
    paced = max(1, int(plan.rate * plan.seconds) // plan.devices)
    specs = []
    for p in range(plan.publishers):
        mine = [DeviceSpec(s, pw) for s, pw in zip(seeds, passwords, strict=True)][
            p :: plan.publishers
        ]
        if mine:
            share = plan.rate * len(mine) / plan.devices
            specs.append(PublisherSpec(broker.host, broker.port, mine, burst, paced, share))
    return specs


def _split_lanes(
    plan: IngestPlan, seeds: list[bytes], passwords: list[str], broker: LocalBroker
) -> list[PublisherSpec]:
    """Whole lanes to each publisher: a story's devices wait for each other's receipts."""
    burst = max(1, plan.events // plan.lanes)
    paced = max(1, int(plan.rate * plan.seconds) // plan.lanes)
    width = len(FIELD_PARTIES)
    devices = [DeviceSpec(s, pw) for s, pw in zip(seeds, passwords, strict=True)]
    specs = []
    for p in range(min(plan.publishers, plan.lanes)):
        lanes = tuple(range(p, plan.lanes, plan.publishers))
        mine = [d for lane in lanes for d in devices[lane * width : (lane + 1) * width]]
        share = plan.rate * len(lanes) / plan.lanes
        specs.append(
            PublisherSpec(broker.host, broker.port, mine, burst, paced, share, lanes, plan.lanes)
        )
    return specs


def _phase(pipes: list[multiprocessing.connection.Connection]) -> PhaseResult:
    for pipe in pipes:
        pipe.send("go")
    return merge_results([_expect(pipe, 900) for pipe in pipes])


def _expect(
    pipe: multiprocessing.connection.Connection, timeout: float, what: object = None
) -> PhaseResult:
    if not pipe.poll(timeout):
        raise ConfigurationError(f"a benchmark publisher did not answer within {timeout}s")
    message = pipe.recv()
    if what is not None and message != what:
        raise ConfigurationError(f"a benchmark publisher said {message!r}")
    return message  # type: ignore[no-any-return]


def _sample(
    gateways: list[GatewayProcess],
    samples: list[tuple[float, int, int, int]],
    stop: threading.Event,
) -> None:
    start = time.monotonic()
    while True:
        own = total = anon = 0
        for gateway in gateways:
            a, b, c = gateway.rss()
            own, total, anon = own + a, total + b, anon + c
        samples.append((time.monotonic() - start, own, total, anon))
        if stop.wait(0.5):
            return


def _key_id(seed: bytes) -> str:
    return key_id_for(raw_public_key(Ed25519PrivateKey.from_private_bytes(seed)))


def median(values: list[float]) -> float:
    """The median of `values` (0 when empty)."""
    return statistics.median(values) if values else 0.0
