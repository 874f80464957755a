"""Revoked devices lose their broker login: the log's revocations, carried to the broker.

A revocation is recorded once, by the core (`traceability.enrolment.revoke_device`),
whichever door it came through (`herbtrace device revoke`, `POST /v1/devices/{id}/revoke`).
`disable_revoked` asks the core for every device the log no longer accepts (revoked, or
past its `valid_until`: `refused_broker_accounts`) and disables its broker account, which
ends its session at once and refuses its login from then on. The CLI calls it right after
revoking when it holds broker admin rights; every gateway with admin rights runs it each
second (`RevocationWatcher`), so a revocation over HTTP takes the device off the broker
within seconds.
"""

from __future__ import annotations

import logging
import threading
import time

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from devices.broker.accounts import BrokerAccounts
from traceability.enrolment import refused_broker_accounts
from traceability.errors import TraceabilityError

log = logging.getLogger("herbtrace.broker")


def disable_revoked(
    engine: Engine, accounts: BrokerAccounts, done: set[str] | None = None
) -> tuple[list[str], list[str]]:
    """Disable the broker accounts of refused devices not in `done`; return the accounts
    disabled and those the broker does not have, and add both to `done`."""
    done = set() if done is None else done
    new = sorted(refused_broker_accounts(engine) - done)
    if not new:
        return [], []
    unknown = accounts.disable(new)
    disabled = [u for u in new if u not in set(unknown)]
    done.update(new)
    if disabled:
        log.info("disabled the broker accounts of %d revoked devices", len(disabled))
    return disabled, unknown


class RevocationWatcher:
    """A thread that runs `disable_revoked` every `interval` seconds until stopped.

    Revoked devices the broker has no account for (enrolled without one, say) are looked
    at again every `retry_unknown` seconds, so an account created after the revocation is
    disabled too, without a connection to the broker every second on their account.
    """

    def __init__(
        self,
        engine: Engine,
        accounts: BrokerAccounts,
        interval: float = 1.0,
        retry_unknown: float = 30.0,
    ) -> None:
        self._engine = engine
        self._accounts = accounts
        self._interval = interval
        self._retry_unknown = retry_unknown
        self._done: set[str] = set()
        self._unknown: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="revocations", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()

    def stop(self) -> None:
        """Stop watching (waits for a sweep under way)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        retry_at = time.monotonic() + self._retry_unknown
        while not self._stop.is_set():
            if time.monotonic() >= retry_at:
                self._done -= self._unknown
                self._unknown.clear()
                retry_at = time.monotonic() + self._retry_unknown
            try:
                _, unknown = disable_revoked(self._engine, self._accounts, self._done)
                self._unknown.update(unknown)
            except (TraceabilityError, sa.exc.SQLAlchemyError, OSError) as exc:
                log.warning("cannot carry revocations to the broker yet: %s", exc)
            self._stop.wait(self._interval)
