"""An exclusive lock on a file, held across every process on one machine.

For work that needs one writer at a time outside any database: a SQLite database's named
locks (`traceability/storage/named_lock.py`) and the broker's state file
(`devices/broker/dynsec.py`). The lock is an `flock`, so the kernel releases it when its
holder's process dies.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on `path` (created if missing) for the block: every other
    holder, in this process or another, waits; the kernel releases it if the process dies."""
    with open(path, "a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
