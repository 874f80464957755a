"""The ingest gateway as one object: ledger, MQTT connection, pipeline and gap alerts."""

from __future__ import annotations

import logging
import queue
import threading
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from devices.broker.accounts import BrokerAccounts
from devices.broker.revocations import RevocationWatcher
from devices.gateway.config import GatewayConfig
from devices.gateway.connection import Connection, Incoming
from devices.gateway.gaps import AlertGapSink, GapDetector, GapSink, RecordingGapSink
from devices.gateway.pipeline import Counters, Pipeline
from traceability.errors import ConfigurationError
from traceability.ingest.intake import Intake
from traceability.ledger import Ledger
from traceability.log.policy import EntryPolicy
from traceability.settings import Settings

if TYPE_CHECKING:
    from traceability.domain.service import Domain

log = logging.getLogger("herbtrace.gateway")


class Gateway:
    """Subscribes to the events of its partition's devices (every device's by default),
    appends them to the log and answers each with a receipt signed by the log key.

    Rules: with `domain` (a `traceability.domain.service.Domain`), envelopes are appended
    through the domain's ledger, so its rules (`DomainPolicy`) apply inside the append lock;
    the alerts they raise are logged after each batch, and sequence gaps become
    `device_gap` alerts. Without it, `policy` (any `EntryPolicy`, or none) is handed to a
    ledger of the gateway's own. `gap_sink` overrides where gaps go (default: a warning and
    a `sequence_gaps` row, plus the alert when there is a domain). Several gateways, in
    one or several processes, may serve one database at once; with the rules on, give
    each a partition of its own (`GatewayConfig.partition`), so that one device's
    envelopes are all appended by one gateway, in the order they arrive.

    With `broker_accounts` (admin rights on the broker), the gateway also disables, within
    a second or two, the broker account of every device the log revokes, however it was
    revoked (`devices.broker.revocations`).
    """

    def __init__(
        self,
        settings: Settings,
        config: GatewayConfig,
        *,
        engine: Engine | None = None,
        policy: EntryPolicy | None = None,
        gap_sink: GapSink | None = None,
        domain: Domain | None = None,
        broker_accounts: BrokerAccounts | None = None,
    ) -> None:
        self.settings = settings
        self.config = config
        self._domain = domain
        if domain is not None:
            if policy is not None:
                raise ConfigurationError("pass the domain or a policy, not both")
            self.ledger = domain.ledger
        else:
            self.ledger = Ledger(settings, engine, policy=policy)
        intake = Intake(self.ledger) if domain is None else Intake.for_domain(domain)
        self._inbox: queue.SimpleQueue[Incoming] = queue.SimpleQueue()
        self.connection = Connection(config, self._inbox)
        sink = gap_sink or RecordingGapSink(self.ledger.engine)
        if domain is not None and gap_sink is None:
            sink = AlertGapSink(domain, also=sink)
        gaps = GapDetector(self.ledger.engine, sink, config.gap_grace)
        self._pipeline = Pipeline(config, intake, self.connection, gaps, self._inbox)
        self._revocations = (
            None
            if broker_accounts is None
            else RevocationWatcher(self.ledger.engine, broker_accounts)
        )
        self._stopped = threading.Event()
        self._started = False

    @property
    def counters(self) -> Counters:
        """Receipts sent so far, by status."""
        return self._pipeline.counters

    def start(self) -> None:
        """Start the workers, the checkpoint ticker and the MQTT session."""
        self.ledger.start_workers()
        self.ledger.start_checkpoint_ticker()
        self._pipeline.start()
        self._started = True
        try:
            self.connection.start()
        except BaseException:
            self.stop()
            raise
        if self._revocations is not None:
            self._revocations.start()
        log.info(
            "ingesting from %s:%d as %s (client ID %s), partition %s",
            self.config.host,
            self.config.port,
            self.config.username,
            self.config.client_id,
            self.config.partition,
        )

    def stop(self) -> None:
        """Answer what was taken in, then disconnect and close the ledger; idempotent."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.connection.pause()
        if self._revocations is not None:
            self._revocations.stop()
        if self._started:
            self._pipeline.stop()
        if not self.connection.flush():
            log.warning("some receipts were not confirmed by the broker before stopping")
        self.connection.stop()
        if self._domain is None:  # a domain's ledger is the domain's to close
            self.ledger.close()
        c = self.counters
        log.info(
            "stopped: %d accepted, %d duplicate, %d rejected; %d of other partitions passed on",
            c.accepted,
            c.duplicate,
            c.rejected,
            self.connection.passed_on,
        )

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `stop()` has been called (or `timeout`); return whether it was."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()
