"""The lookup benchmark's writer: demo events appended through the rules at a steady rate.

While it runs, the log grows as it does in production (devices recording elsewhere in the
supply chain), so every lookup finds the log larger than when its facts were kept and must
check them (`api/facts_cache.py`). The events are the demo's next ones (`herbtrace seed`),
on other batches than the traced unit's, so the unit's facts stay the same byte for byte.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection

from traceability.demo import seed_events
from traceability.domain.service import Domain
from traceability.errors import ConfigurationError
from traceability.settings import Settings

TICK = 0.05
"""Seconds between appends: the rate is met in batches of rate × TICK events."""


def grow(url: str, origin: str, rate: float, pipe: Connection) -> None:
    """Process entry point: append `rate` demo events per second until the pipe says stop,
    then send back how many were accepted and how many refused."""
    settings = Settings(database_url=url, log_origin=origin)
    accepted = refused = 0
    with Domain(settings) as domain:
        pipe.send("ready")
        start = time.monotonic()
        while not pipe.poll(0):
            due = (time.monotonic() - start) * rate - accepted - refused
            if due >= 1:
                for result in seed_events(domain, int(due)):
                    if result.status == "accepted":
                        accepted += 1
                    else:
                        refused += 1
            time.sleep(TICK)
    pipe.recv()
    pipe.send((accepted, refused))


class Grower:
    """The writer process: started, then stopped with its counts."""

    def __init__(self, url: str, origin: str, rate: float) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=grow, args=(url, origin, rate, child), daemon=True)
        self.process.start()
        child.close()
        if not self.conn.poll(60) or self.conn.recv() != "ready":
            self.close()
            raise ConfigurationError("the benchmark's writer did not start within 60 s")

    def stop(self) -> tuple[int, int]:
        """Stop appending; return (accepted, refused)."""
        self.conn.send("stop")
        if not self.conn.poll(60):
            raise ConfigurationError("the benchmark's writer did not stop within 60 s")
        accepted, refused = self.conn.recv()
        self.close()
        return int(accepted), int(refused)

    def close(self) -> None:
        """End the process (at once if it has not stopped by itself)."""
        self.process.join(5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
