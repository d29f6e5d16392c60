"""Stage timing and progress: the flow times each stage; a front end may watch.

A front end (the CLI's progress display) installs a `ProgressSink` for the current context with
`watch_progress`; Prefect copies the context into task threads, so the flow's stages report to
it without any Prefect parameter carrying it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Protocol, TypeVar

from schemas.records import StageCounts, StageMetrics


class ProgressSink(Protocol):
    """Something that shows stages starting and finishing."""

    def stage_started(self, stage: str) -> None: ...

    def stage_finished(self, metrics: StageMetrics) -> None: ...


class StageResult(Protocol):
    """A stage's typed result: it says what it counted."""

    def metrics(self) -> StageCounts: ...


T = TypeVar("T", bound=StageResult)

_sink: ContextVar[ProgressSink | None] = ContextVar("joshua_progress_sink", default=None)


@contextmanager
def watch_progress(sink: ProgressSink) -> Iterator[None]:
    """Send the stages run in this context to `sink`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


class StageTimer:
    """Times named stages and keeps their metrics in order."""

    def __init__(self) -> None:
        self.stages: list[StageMetrics] = []

    @contextmanager
    def stage(self, name: str) -> Iterator[StageMetrics]:
        """Time a stage; the caller may fill in items, tokens and cost on the yielded metrics."""
        sink = _sink.get()
        if sink is not None:
            sink.stage_started(name)
        metrics = StageMetrics(stage=name, seconds=0.0)
        started = time.perf_counter()
        try:
            yield metrics
        finally:
            metrics.seconds = round(time.perf_counter() - started, 4)
            self.stages.append(metrics)
            if sink is not None:
                sink.stage_finished(metrics)

    def run(self, name: str, function: Callable[..., T], *args: object) -> T:
        """Run one stage's function, timed, recording what its result counted."""
        with self.stage(name) as metrics:
            result = function(*args)
            metrics.record(result.metrics())
        return result
