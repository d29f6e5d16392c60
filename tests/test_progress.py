import pytest

from joshua.progress import StageTimer, watch_progress
from schemas.records import StageCounts, StageMetrics


class Recorder:
    def __init__(self):
        self.events = []

    def stage_started(self, stage):
        self.events.append(("start", stage))

    def stage_finished(self, metrics: StageMetrics):
        self.events.append(("end", metrics.stage, metrics.items_in, metrics.items_out))


class Result:
    def metrics(self) -> StageCounts:
        return StageCounts(items_in=5, items_out=2, calls=3)


def test_timer_counts_results_and_reports_to_the_watcher():
    recorder, timer = Recorder(), StageTimer()
    with watch_progress(recorder):
        assert isinstance(timer.run("curate", Result), Result)
    assert recorder.events == [("start", "curate"), ("end", "curate", 5, 2)]
    assert timer.stages[0].calls == 3


def test_a_failing_stage_is_still_timed():
    timer = StageTimer()
    with pytest.raises(ZeroDivisionError):
        timer.run("score", lambda: 1 / 0)
    assert [s.stage for s in timer.stages] == ["score"]
