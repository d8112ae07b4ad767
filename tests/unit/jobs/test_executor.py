"""The local executor's rules with plain work functions (no database, no Ray): outputs in order, an
exception belongs to the first unanswered clip even when the work reads ahead, retries, cancel, ETA."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from avs_studio.jobs.executor import ClipTask, ExecutorError, Meter, run_clips
from avs_studio.store import VideoRow


def video(i: int) -> VideoRow:
    return VideoRow(i, f"/v{i}.mp4", f"v{i}", 10.0, 100, 16, 12, 10.0, True, None, None, None, 1.0, {},
                    datetime.now(UTC), f"/v{i}.mp4")  # fmt: skip


TASKS = [ClipTask(video(v), (f, f + 10)) for v in (1, 2) for f in (0, 20, 40)]


@dataclass(frozen=True)
class ReadAhead:
    """Takes ``ahead`` tasks before answering the first (as run_many does); raises on ``bad`` keys
    the first ``times`` times they are answered."""

    bad: tuple[tuple[int, int], ...] = ()
    times: int = 10**6
    ahead: int = 3

    def build(self):
        seen: dict[tuple[int, int], int] = {}

        def fn(tasks):
            source = iter(tasks)
            window = deque(itertools.islice(source, self.ahead))
            while window:
                t = window.popleft()
                window.extend(itertools.islice(source, 1))
                if t.key in self.bad and seen.get(t.key, 0) < self.times:
                    seen[t.key] = seen.get(t.key, 0) + 1
                    raise RuntimeError(f"bad clip {t.key}")
                yield ("out", t.key)

        return fn


def run(work, **kw):
    written = []
    stats = run_clips(TASKS, work, lambda t, out: written.append((t.key, out)), **kw)
    return stats, written


def test_outputs_are_written_in_order_with_their_task():
    stats, written = run(ReadAhead())
    assert [k for k, _ in written] == [t.key for t in TASKS] and all(o == ("out", k) for k, o in written)
    assert (stats.stored, stats.failed, stats.workers, stats.retried) == (6, [], 1, 0)


def test_a_failure_belongs_to_the_first_unanswered_clip_even_when_the_work_reads_ahead():
    stats, written = run(ReadAhead(bad=((1, 20),)))
    assert [k for k, _ in written] == [(1, 0), (1, 40), (2, 0), (2, 20), (2, 40)]  # none lost or doubled
    (failure,) = stats.failed
    assert failure.task.key == (1, 20) and failure.attempts == 3 and stats.retried == 2
    assert str(failure) == "video 1 (v1): frames 20-30: RuntimeError: bad clip (1, 20) (failed 3 times)"


def test_a_clip_that_fails_once_is_stored_by_its_retry_in_place():
    stats, written = run(ReadAhead(bad=((2, 0),), times=1))
    assert [k for k, _ in written] == [t.key for t in TASKS] and stats.retried == 1 and stats.failed == []


def test_no_retries_reports_at_once():
    from avs_studio.jobs.executor import ExecutorOptions

    stats, written = run(ReadAhead(bad=((1, 0), (2, 40))), options=ExecutorOptions(retries=0))
    assert [f.task.key for f in stats.failed] == [(1, 0), (2, 40)] and len(written) == 4


def test_cancel_stops_between_clips():
    cancel = threading.Event()
    written = []

    def write(t, out):
        written.append(t.key)
        if len(written) == 2:
            cancel.set()

    stats = run_clips(TASKS, ReadAhead(), write, cancel=cancel)
    assert written == [(1, 0), (1, 20)] and stats.cancelled and stats.stored == 2


def test_a_writer_error_stops_the_run():
    def write(t, out):
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        run_clips(TASKS, ReadAhead(), write)


def test_a_work_that_answers_too_few_clips_is_named():
    @dataclass(frozen=True)
    class Short:
        def build(self):
            def fn(tasks):  # takes two clips, answers one
                first, _second = itertools.islice(tasks, 2)
                yield ("out", first.key)

            return fn

    with pytest.raises(ExecutorError, match="gave no output"):
        run_clips(TASKS, Short(), lambda t, o: None)


def test_meter_rate_and_eta():
    now = [100.0]
    m = Meter(10, clock=lambda: now[0])
    assert m.text() == "starting" and m.eta() is None
    now[0] = 104.0
    m.tick(2)
    assert m.rate == 0.5 and m.eta() == 16.0 and m.text() == "0.50 clips/s, ETA 0:00:16"
    now[0] = 100.0 + 3600
    m.tick(1)
    assert m.text().endswith("ETA 2:20:00")
