"""Helpers for device SDK tests: fast retry timings, enrolled devices, polling."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from devices.sdk import BrokerConfig, RetryPolicy

FAST = RetryPolicy(window=5, ack_timeout=0.5, backoff_base=0.1, backoff_max=0.8)
"""Retry timings short enough for tests."""


@dataclass
class EnrolledDevice:
    """A device directory whose key is enrolled on the test log and the test broker."""

    root: Path
    device_id: str
    broker: BrokerConfig


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail the test naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
