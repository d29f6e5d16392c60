"""The sidecar: one long-lived child process for the heavy libraries a run needs once or twice.

Great Expectations (article validation) and the chart stack (altair, vl-convert's embedded V8,
Jinja2) take seconds to load and 200 MB or more of memory. They run here instead of in the flow
process: their memory never counts against it, and `prewarm` lets them load while the flow waits
for other things (Prefect's start-up, collection). Functions sent here must be importable,
top-level and take picklable arguments.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from joshua.errors import JoshuaError

T = TypeVar("T")
TIMEOUT_S = 300
SIDECAR_NICENESS = 10
_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def _load_libraries() -> None:
    """Import the heavy libraries and warm the chart renderer (runs in the sidecar)."""
    # Loading competes for the CPU with Prefect's start-up, which the run waits on first: yield to it.
    os.nice(SIDECAR_NICENESS)
    import great_expectations  # noqa: F401
    import vl_convert

    from joshua.reporting import charts, html  # noqa: F401 (altair, Jinja2, the templates)

    vl_convert.vegalite_to_svg('{"mark": "point", "data": {"values": [{"a": 1}]}}')


def _sidecar() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),  # never fork a threaded process
                initializer=_load_libraries,
            )
        return _pool


def prewarm() -> None:
    """Start the sidecar now so its libraries are loaded when the run needs them."""
    _sidecar().submit(int)


def call(function: Callable[..., T], *args: object) -> T:
    """Run `function(*args)` in the sidecar and return its result (its exceptions propagate)."""
    global _pool
    try:
        return _sidecar().submit(function, *args).result(timeout=TIMEOUT_S)
    except BrokenProcessPool as exc:
        with _lock:
            _pool = None  # the next call starts a fresh sidecar
        raise JoshuaError(f"the sidecar process died: {exc}") from exc
