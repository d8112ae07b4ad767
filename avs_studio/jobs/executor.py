"""Executors: run a clip-level work function over many clips and store each clip as soon as it is done.

A run is ``run_clips(tasks, work, write, options)``:
- ``tasks``: ClipTasks (a video and the keyframes of one clip), the unit of work;
- ``work``: a picklable ClipWork whose ``build()`` runs once per worker (it loads the models and keeps
  them) and returns a function from a stream of tasks to their outputs, one per task, in order;
- ``write(task, output)``: stores one clip; it always runs here, in the calling process (the driver).

Where the work runs is the executor's business: "local" (this process, no extra install) or "ray"
(actors on a Ray cluster, ``avs_studio.jobs.ray_executor``, the ``[cluster]`` extra). The rules both
follow are stated here once: a clip whose work raises is tried again up to ``retries`` times, then
reported (ClipFailure) while the run goes on; the clips of a lost worker are queued again; cancelling
stops between clips (only whole clips are stored); progress reports clips per second and an ETA.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from avs_studio.store import VideoRow

Progress = Callable[[int, int, str], None]
ClipFunction = Callable[[Iterable["ClipTask"]], Iterator[Any]]
Writer = Callable[["ClipTask", Any], None]
KINDS = ("local", "ray")


class ExecutorError(Exception):
    """A run cannot start or go on (Ray missing, no cluster at the address, no worker left); names why."""


@dataclass(frozen=True)
class ClipTask:
    """One clip of one video: the unit of work. ``video`` travels to the worker (path, size, audio);
    ``payload``: what else the work needs for this clip (e.g. a propagation segment's anchor masks)."""

    video: VideoRow
    frames: tuple[int, ...]
    payload: Any = field(default=None, compare=False)

    @property
    def key(self) -> tuple[int, int]:
        return (self.video.id, self.frames[0])

    @property
    def label(self) -> str:
        return f"video {self.video.id} ({self.video.name}): frames {self.frames[0]}-{self.frames[-1]}"


class ClipWork(Protocol):
    """A picklable recipe for a clip-level work function (sent to every worker)."""

    def build(self) -> ClipFunction:
        """Load what the work needs (once per worker) and return the function. It takes an iterable of
        tasks (possibly lazy and of several videos) and yields one output per task, in order; an
        exception belongs to the first task not yet answered."""
        ...


@dataclass(frozen=True)
class ExecutorOptions:
    kind: str = "local"
    address: str | None = None  # ray: None = start Ray on this machine; "auto"; "ray://HOST:PORT"
    workers: int | None = None  # ray: None = as many as the cluster's GPUs (or CPUs) allow
    gpus_per_worker: float | None = None  # ray: None = 1 when the cluster has GPUs, else 0
    cpus_per_worker: float = 1.0
    retries: int = 2  # further attempts of a clip whose work raised (or whose worker was lost)
    in_flight: int = 2  # clips queued on each worker, so it never waits for the driver

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ExecutorError(f"unknown executor {self.kind!r}; use one of: {', '.join(KINDS)}")
        if self.workers is not None and self.workers < 1:
            raise ExecutorError(f"--workers must be at least 1, not {self.workers}")
        if self.gpus_per_worker is not None and self.gpus_per_worker < 0:
            raise ExecutorError(f"--gpus-per-worker must be 0 or more, not {self.gpus_per_worker}")
        if self.retries < 0:
            raise ExecutorError(f"retries must be 0 or more, not {self.retries}")


@dataclass
class ClipFailure:
    task: ClipTask
    error: str
    attempts: int

    def __str__(self) -> str:
        return f"{self.task.label}: {self.error} (failed {self.attempts} time{'s' * (self.attempts > 1)})"


@dataclass
class RunStats:
    executor: str
    total: int  # clips given to the executor
    stored: int = 0
    failed: list[ClipFailure] = field(default_factory=list)
    retried: int = 0  # attempts repeated after a clip raised
    requeued: int = 0  # clips queued again because their worker was lost
    workers: int = 0  # workers that started
    lost_workers: int = 0
    cancelled: bool = False
    seconds: float = 0.0
    startup: float | None = None  # seconds until the first worker was ready (models loaded)

    @property
    def clips_per_s(self) -> float:
        return self.stored / self.seconds if self.seconds > 0 else 0.0

    @property
    def steady_clips_per_s(self) -> float:
        """Clips per second once the first worker was ready (start-up left out)."""
        busy = self.seconds - (self.startup or 0.0)
        return self.stored / busy if busy > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The figures a report shows (JSON-ready)."""
        return {
            "workers": self.workers, "retried": self.retried, "requeued": self.requeued,
            "lost_workers": self.lost_workers, "failed": len(self.failed),
            "clips_per_s": round(self.clips_per_s, 3), "seconds": round(self.seconds, 3),
            "startup_s": round(self.startup or 0.0, 3), "steady_clips_per_s": round(self.steady_clips_per_s, 3),
        }  # fmt: skip

    def ready(self, started: float) -> None:
        """A worker is ready: count it (and the start-up time, for the first)."""
        self.workers += 1
        if self.startup is None:
            self.startup = time.perf_counter() - started


class Meter:
    """Clips per second and time left, over the clips finished so far."""

    def __init__(self, total: int, clock: Callable[[], float] = time.perf_counter):
        self.total, self.done, self.clock = total, 0, clock
        self.start = clock()

    def tick(self, n: int = 1) -> None:
        self.done += n

    @property
    def rate(self) -> float:
        elapsed = self.clock() - self.start
        return self.done / elapsed if elapsed > 0 else 0.0

    def eta(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None

    def text(self) -> str:
        eta = self.eta()
        if eta is None:
            return "starting"
        m, s = divmod(int(round(eta)), 60)
        h, m = divmod(m, 60)
        return f"{self.rate:.2f} clips/s, ETA {h}:{m:02d}:{s:02d}"


class Tracker:
    """The driver's bookkeeping, the same for every executor: attempts per clip, writes, progress."""

    def __init__(
        self,
        tasks: Sequence[ClipTask],
        write: Writer,
        retries: int,
        stats: RunStats,
        progress: Progress | None,
    ):
        self.write, self.retries, self.stats, self.progress = write, retries, stats, progress
        self.attempts: dict[tuple[int, int], int] = {}
        self.meter = Meter(len(tasks))
        self.started = self.meter.start
        self.finished = 0  # stored or given up

    def _report(self, task: ClipTask, what: str = "") -> None:
        self.finished += 1
        if self.progress:
            self.progress(self.finished, self.stats.total, f"{task.label}{what} ({self.meter.text()})")

    def done(self, task: ClipTask, output: Any) -> None:
        self.write(task, output)
        self.stats.stored += 1
        self.meter.tick()
        self._report(task)

    def failed(self, task: ClipTask, error: str, *, lost: bool = False) -> bool:
        """Count a failed attempt; True = try the clip again, False = it is reported as failed."""
        n = self.attempts[task.key] = self.attempts.get(task.key, 0) + 1
        if n <= self.retries:
            if lost:
                self.stats.requeued += 1
            else:
                self.stats.retried += 1
            return True
        self.stats.failed.append(ClipFailure(task, error, n))
        self._report(task, f" FAILED: {error}")
        return False


def describe_error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def stopped(cancel: Any) -> bool:
    return cancel is not None and cancel.is_set()


def run_clips(
    tasks: Sequence[ClipTask],
    work: ClipWork,
    write: Writer,
    options: ExecutorOptions | None = None,
    *,
    progress: Progress | None = None,
    cancel: Any = None,
) -> RunStats:
    """Run ``work`` on every task with the executor of ``options`` (default local) and ``write`` each
    output here as it arrives. Errors of ``write`` (the store) and of ``work.build()`` (a model that
    cannot load) stop the run; an error of one clip does not."""
    options = options or ExecutorOptions()
    stats = RunStats(options.kind, len(tasks))
    tracker = Tracker(tasks, write, options.retries, stats, progress)
    started = time.perf_counter()
    try:
        if not tasks:
            return stats
        if options.kind == "ray":
            from avs_studio.jobs import ray_executor

            ray_executor.run(list(tasks), work, tracker, options, cancel)
        else:
            _run_local(list(tasks), work, tracker, cancel)
        stats.cancelled = stopped(cancel) and tracker.finished < len(tasks)
        return stats
    finally:
        stats.seconds = time.perf_counter() - started


def _run_local(tasks: list[ClipTask], work: ClipWork, tracker: Tracker, cancel: Any) -> None:
    fn = work.build()
    tracker.stats.ready(tracker.started)
    queue: deque[ClipTask] = deque(tasks)
    try:
        while queue and not stopped(cancel):
            pulled: deque[ClipTask] = deque()
            outputs = fn(_feed(queue, pulled, cancel))
            try:
                for output in _guarded(outputs, pulled, tracker, queue, cancel):
                    tracker.done(pulled.popleft(), output)
                    if stopped(cancel):
                        return
            finally:
                close = getattr(outputs, "close", None)
                if close is not None:
                    close()
    finally:
        close = getattr(fn, "close", None)
        if close is not None:
            close()


def _feed(queue: deque[ClipTask], pulled: deque[ClipTask], cancel: Any) -> Iterator[ClipTask]:
    """The queue as a lazy stream; what the work function took is remembered in ``pulled``."""
    while queue and not stopped(cancel):
        task = queue.popleft()
        pulled.append(task)
        yield task


def _guarded(
    outputs: Iterator[Any], pulled: deque[ClipTask], tracker: Tracker, queue: deque[ClipTask], cancel: Any
) -> Iterator[Any]:
    """The outputs of one pass; an exception is the first unanswered clip's failure: it is counted (and
    queued again first when it has attempts left), the clips pulled after it are queued again, and the
    pass ends (the caller starts a new one on the queue)."""
    while True:
        try:
            output = next(outputs)
        except StopIteration:
            if pulled and not stopped(cancel):
                raise ExecutorError(
                    f"the work function gave no output for {len(pulled)} clip(s), e.g. {pulled[0].label}"
                ) from None
            return
        except Exception as exc:
            if stopped(cancel):
                return
            if not pulled:
                raise
            task = pulled.popleft()
            retry = tracker.failed(task, describe_error(exc))
            queue.extendleft(reversed(pulled))  # pulled ahead but not answered: queued again
            pulled.clear()
            if retry:
                queue.appendleft(task)
            return
        if not pulled:
            raise ExecutorError("the work function answered more clips than it was given")
        yield output
