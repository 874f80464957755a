"""The gateway's worker threads: batch the inbox, check, append, answer, acknowledge.

    paho network thread ──► inbox ──► batcher ──► check pool (`workers` threads)
                                                       │ in arrival order
                                                       ▼
                              committer: append ─► store rejections ─► sign and publish
                                         receipts ─► acknowledge ─► watch sequence gaps

Checking, appending, keeping refusals and signing receipts are the ingest step's
(`traceability/ingest/intake.py`, as for HTTPS); the threads, the acknowledgements, the
receipts' topics and the gap watch are the gateway's. Refusals are stored within each
device's budget (`traceability/ingest/rejections.py`) and, past HERBTRACE_DEVICE_RATE kept
refusals a second of one device, answered but only counted.

Only the committer appends, so batches enter the log in the order they arrived, while the
next batches are already being parsed and signature-checked. Database failures are
retried (nothing is acknowledged meanwhile); any other failure of a batch is isolated to
the message that caused it, which is refused with reason `internal_error`.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa

from devices.gateway.batches import CheckedBatch, arrival_of, check_batch, now_utc
from devices.gateway.config import GatewayConfig
from devices.gateway.connection import Connection, Incoming
from devices.gateway.gaps import GapDetector
from schemas.mqtt import receipts_topic
from traceability.ingest.intake import Arrival, Intake
from traceability.log.results import AppendResult
from traceability.throttle import TokenBuckets

log = logging.getLogger("herbtrace.gateway")

T = TypeVar("T")


class _Stopped(Exception):
    """The gateway is stopping while the database is unreachable: give the batch up."""


@dataclass
class Counters:
    """What the gateway has answered since it started."""

    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    refusals_not_kept: int = 0
    """Refusals answered but not stored: their device was past its rate of kept refusals."""


class Pipeline:
    """The batcher and committer threads between the inbox and the connection."""

    def __init__(
        self,
        config: GatewayConfig,
        intake: Intake,
        connection: Connection,
        gaps: GapDetector,
        inbox: queue.SimpleQueue[Incoming],
    ) -> None:
        self._config = config
        self._intake = intake
        self._connection = connection
        self._gaps = gaps
        self._inbox = inbox
        settings = intake.ledger.settings
        self._refusals = TokenBuckets(settings.device_rate, settings.device_burst)
        self._checks = ThreadPoolExecutor(config.workers, thread_name_prefix="ingest-check")
        self._ready: queue.Queue[Future[CheckedBatch] | None] = queue.Queue(1)
        self._stopping = threading.Event()
        self._abandon = threading.Event()
        self._threads = [
            threading.Thread(target=self._batch_loop, name="ingest-batcher", daemon=True),
            threading.Thread(target=self._commit_loop, name="ingest-committer", daemon=True),
        ]
        self.counters = Counters()

    def start(self) -> None:
        """Start the batcher and committer threads."""
        for thread in self._threads:
            thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Answer every message already taken in, then stop (abandoning after `timeout`)."""
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                self._abandon.set()
                thread.join(5.0)
        self._checks.shutdown(wait=True, cancel_futures=True)

    # -- batcher -------------------------------------------------------------------------

    def _batch_loop(self) -> None:
        while True:
            batch = self._collect()
            if batch is None:
                self._ready.put(None)
                return
            if batch:
                self._ready.put(self._checks.submit(self._check, batch))

    def _collect(self) -> list[Incoming] | None:
        """Return the next batch; [] when idle; None when stopping and the inbox is empty."""
        try:
            first = self._inbox.get(timeout=0.1)
        except queue.Empty:
            return None if self._stopping.is_set() else []
        batch = [first]
        deadline = time.monotonic() + self._config.linger
        while len(batch) < self._config.batch_size:
            try:
                batch.append(self._inbox.get_nowait())
                continue
            except queue.Empty:
                pass
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def _check(self, batch: list[Incoming]) -> CheckedBatch:
        return self._retrying(check_batch, self._intake, batch)

    # -- committer -----------------------------------------------------------------------

    def _commit_loop(self) -> None:
        while True:
            try:
                item = self._ready.get(timeout=0.5)
            except queue.Empty:
                self._check_gaps()
                continue
            if item is None:
                return
            try:
                self._commit(item)
            except Exception:  # the loop must outlive any bug: log it and go on
                log.exception("unexpected failure while answering a batch")

    def _commit(self, item: Future[CheckedBatch]) -> None:
        """Append one checked batch and answer it."""
        try:
            checked = item.result()
            results = self._retrying(self._intake.commit, checked.checked)
        except _Stopped:
            log.error("stopping with the database unreachable: batch left unacknowledged")
            return
        except Exception:
            log.exception("batch failed; processing its messages one by one")
            self._one_by_one(item)
            return
        self._answer(checked.messages, checked.arrivals, results)
        self._finish_batch()

    def _one_by_one(self, item: Future[CheckedBatch]) -> None:
        try:
            messages = item.result().messages
        except Exception:
            log.exception("batch check failed")
            return
        for message in messages:
            try:
                checked = self._check([message])
                results = self._retrying(self._intake.commit, checked.checked)
            except _Stopped:
                return
            except Exception as exc:
                log.exception("message on %s could not be processed", message.topic)
                failure = AppendResult(
                    status="rejected", reason="internal_error", detail=type(exc).__name__
                )
                self._answer([message], [arrival_of(message)], [failure])
                continue
            self._answer(checked.messages, checked.arrivals, results)

    def _answer(
        self, messages: list[Incoming], arrivals: list[Arrival], results: list[AppendResult]
    ) -> None:
        """Store rejections, publish signed receipts, acknowledge, and watch for gaps."""
        rejections = [
            r
            for r in self._intake.refusals(arrivals, results, now_utc())
            if self._keeps_refusal(r.device_id)
        ]
        self._retrying(self._intake.keep, rejections)
        accepted: list[tuple[str, int]] = []
        for message, arrival, result in zip(messages, arrivals, results, strict=True):
            try:
                receipt = self._intake.receipt(result)
                correlation = (
                    result.envelope_hash
                    if result.envelope_hash is not None
                    else message.correlation
                )
                if arrival.device is not None:
                    self._connection.publish(receipts_topic(arrival.device), receipt, correlation)
            except Exception:  # the outcome is stored; the device will ask again
                log.exception("no receipt for a message on %s", message.topic)
            self._connection.ack(message)
            if result.status == "accepted" and result.signer is not None and result.seq:
                accepted.append((result.signer, result.seq))
            setattr(self.counters, result.status, getattr(self.counters, result.status) + 1)
        self._gaps.observe(accepted)

    def _keeps_refusal(self, device: str | None) -> bool:
        """Whether a refusal of `device` is stored: within its rate (HERBTRACE_DEVICE_RATE),
        else it is answered and counted, not stored, so a flood cannot grow the database."""
        if self._refusals.take(device or "") == 0.0:
            return True
        self.counters.refusals_not_kept += 1
        return False

    def _finish_batch(self) -> None:
        """Run the step's after-commit hook (the domain logs its alerts), then check due gaps."""
        try:
            self._intake.after_commit()
        except Exception:
            log.exception("logging the rules' alerts failed; will try after the next batch")
        self._check_gaps()

    def _check_gaps(self) -> None:
        try:
            self._gaps.check_due()
        except Exception:
            log.exception("sequence gap check failed; later gaps are still checked")

    def _retrying(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(*args)`, retrying database failures with backoff until it succeeds or we
        stop."""
        delay = 0.05
        while True:
            try:
                return work(*args)
            except sa.exc.DBAPIError as exc:
                if self._abandon.is_set():
                    raise _Stopped from exc
                log.warning("database error, retrying in %.1fs: %s", delay, exc.orig)
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
