"""Worker processes for CPU-bound checks, started cleanly from a fork server."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

PRELOAD = [
    "__main__",
    "traceability.log.entry_check",
    "traceability.log.precheck",
    "traceability.log.audit_pages",
]
"""Loaded once by the fork server, so each worker starts in milliseconds. (`__main__` too:
otherwise every worker would import the caller's main module again on start.) The audit's
workers read the database themselves, so the storage layer comes in with `audit_pages`."""


def process_pool(
    workers: int,
    initializer: Callable[..., None] | None = None,
    initargs: tuple[Any, ...] = (),
) -> ProcessPoolExecutor:
    """Return a pool of `workers` processes forked from a single-threaded fork server.

    The fork server is started once per process and imports PRELOAD; its children start in
    milliseconds and inherit none of the caller's threads or open connections. Each worker
    runs `initializer(*initargs)`, if given, before its first task.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return ProcessPoolExecutor(
        workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(os.getpid(), initializer, initargs),
    )


def _start_worker(
    caller: int, initializer: Callable[..., None] | None, initargs: tuple[Any, ...]
) -> None:
    """Watch the caller (see _exit_with_caller), then run the pool's own initializer."""
    _exit_with_caller(caller)
    if initializer is not None:
        initializer(*initargs)


CALLER_POLL = 1.0
"""Seconds between a worker's checks that the process that started the pool still runs."""


def _exit_with_caller(caller: int) -> None:
    """End this worker, and the fork server it came from, once `caller` has gone.

    A caller killed outright (SIGKILL) tells nobody; its workers would otherwise wait on
    their queue for ever. A daemon thread polls the caller's PID.
    """
    server = os.getppid()

    def watch() -> None:
        while _running(caller):
            time.sleep(CALLER_POLL)
        if server not in (1, caller) and server != os.getpid():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(server, signal.SIGTERM)
        os._exit(0)

    threading.Thread(target=watch, name="caller-watch", daemon=True).start()


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
