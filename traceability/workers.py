"""Worker processes for CPU-bound checks, started cleanly from a fork server."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor

PRELOAD = ["__main__", "traceability.log.entry_check", "traceability.log.precheck"]
"""Loaded once by the fork server, so each worker starts in milliseconds. (`__main__` too:
otherwise every worker would import the caller's main module again on start.)"""


def process_pool(workers: int) -> ProcessPoolExecutor:
    """Return a pool of `workers` processes forked from a single-threaded fork server.

    The fork server is started once per process and imports PRELOAD; its children start in
    milliseconds and inherit none of the caller's threads or open connections.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return ProcessPoolExecutor(workers, mp_context=context)
