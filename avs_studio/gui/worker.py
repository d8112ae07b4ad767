"""Background threads: a priority task runner, the inference worker that owns the models, and the writer.

One long-lived inference thread owns the pipeline and the point segmenter. Tasks wait in a priority
queue: interactive requests (SAM click, re-segment a frame) jump ahead of prefetching embeddings, which
jump ahead of batch proposals. A batch proposal is one long task; between clips it serves any waiting
interactive request, so a SAM click never waits for a whole video. Results reach the GUI thread as
queued Qt signals; callbacks given to ``submit`` run on the GUI thread.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from avs_studio.session.runners import Priority

__all__ = ["Cancelled", "InferenceWorker", "JobRunner", "Priority", "TaskRunner"]


class Cancelled(Exception):
    """A task saw its cancel flag; it stopped without writing a partial result."""


@dataclass(order=True)
class _Task:
    priority: int
    seq: int
    fn: Callable[[], Any] = field(compare=False)
    on_done: Callable[[Any], None] | None = field(compare=False, default=None)
    on_error: Callable[[str], None] | None = field(compare=False, default=None)
    skip: Callable[[], bool] | None = field(compare=False, default=None)  # checked before running


_STOP = _Task(1 << 30, 1 << 62, lambda: None)  # after everything queued: stop() drains the queue


class TaskRunner(QObject):
    """One thread running submitted callables in priority order (FIFO within a priority)."""

    finished = Signal(int, object)  # task id, return value
    failed = Signal(int, str)  # task id, error message
    busy_changed = Signal(bool)  # True while tasks are queued or running
    model_missing = Signal(str, str)  # registry name of a model whose weights are not cached, message

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name
        self._queue: queue.PriorityQueue[_Task] = queue.PriorityQueue()
        self._seq = itertools.count(1)
        self._tasks: dict[int, _Task] = {}  # GUI thread only: callbacks of pending tasks
        self._pending = 0
        self._lock = threading.Lock()
        self.finished.connect(self._on_finished)
        self.failed.connect(self._on_failed)
        self._thread = threading.Thread(target=self._loop, name=f"avs-{name}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ GUI thread
    def submit(
        self,
        fn: Callable[[], Any],
        priority: int = Priority.INTERACTIVE,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        skip: Callable[[], bool] | None = None,
    ) -> int:
        """Queue ``fn`` to run on this runner's thread; ``on_done``/``on_error`` run on the GUI thread."""
        task = _Task(int(priority), next(self._seq), fn, on_done, on_error, skip)
        self._tasks[task.seq] = task
        with self._lock:
            self._pending += 1
            first = self._pending == 1
        if first:
            self.busy_changed.emit(True)
        self._queue.put(task)
        return task.seq

    def idle(self) -> bool:
        """No task queued or running, and every result delivered to the GUI thread."""
        with self._lock:
            return self._pending == 0 and not self._tasks

    def wait_idle(self, timeout_ms: int = 10000) -> bool:
        """Process GUI events until every queued task is done and delivered (before closing)."""
        from PySide6.QtCore import QDeadlineTimer, QEventLoop
        from PySide6.QtWidgets import QApplication

        deadline = QDeadlineTimer(timeout_ms)
        while not self.idle() and not deadline.hasExpired():
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        return self.idle()

    def is_stopped(self) -> bool:
        return not self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread.is_alive():
            self._queue.put(_STOP)
            self._thread.join(timeout)

    @Slot(int, object)
    def _on_finished(self, task_id: int, value: object) -> None:
        task = self._tasks.pop(task_id, None)
        if task is not None and task.on_done is not None:
            task.on_done(value)
        self._maybe_idle()

    @Slot(int, str)
    def _on_failed(self, task_id: int, message: str) -> None:
        task = self._tasks.pop(task_id, None)
        if task is not None and task.on_error is not None:
            task.on_error(message)
        self._maybe_idle()

    def _maybe_idle(self) -> None:
        if self.idle():
            self.busy_changed.emit(False)

    # ------------------------------------------------------------------ worker thread
    def _loop(self) -> None:
        while True:
            task = self._queue.get()
            if task is _STOP:
                return
            self._run(task)

    def _run(self, task: _Task) -> None:
        try:
            if task.skip is not None and task.skip():
                value: Any = None
            else:
                value = task.fn()
        except Exception as exc:  # reported to the GUI, never lost
            message = str(exc) or type(exc).__name__
            missing = getattr(exc, "model", None) if hasattr(exc, "command") else None
            if isinstance(missing, str):  # openavs.ModelMissingError: the GUI offers the download
                self.model_missing.emit(missing, message)
            elif not isinstance(exc, Cancelled):
                logging.getLogger(__name__).warning("%s task failed", self.name, exc_info=True)
            self._done()
            self.failed.emit(task.seq, message)
            return
        self._done()
        self.finished.emit(task.seq, value)

    def _done(self) -> None:
        with self._lock:
            self._pending -= 1

    def serve_waiting(self, max_priority: int = Priority.INTERACTIVE) -> None:
        """Run queued tasks of priority <= max_priority now (called from inside a long task)."""
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                return
            if task is _STOP or task.priority > max_priority:
                self._queue.put(task)
                return
            self._run(task)


_JOB_IDS = itertools.count(1)  # shared: job ids are unique across runners (one jobs panel)


class JobRunner(TaskRunner):
    """A TaskRunner that also runs long jobs with progress, cancel and per-clip results."""

    job_started = Signal(int, str)  # job id, title
    job_progress = Signal(int, int, int, str)  # job id, done, total, message
    job_clip = Signal(int, object)  # job id, what jobs.propose passed to on_clip
    job_finished = Signal(int, str, str)  # job id, state (done | cancelled | failed), message

    def __init__(self, name: str, parent: QObject | None = None) -> None:
        super().__init__(name, parent)
        self._cancels: dict[int, threading.Event] = {}

    def start_job(
        self, title: str, fn: Callable[..., Any], on_done: Callable[[Any], None] | None = None
    ) -> int:
        """Run a long job at batch priority. ``fn(progress, cancel, on_clip)`` runs on the worker thread;
        ``on_done(value)`` runs on the GUI thread when it finished (not when cancelled or failed)."""
        job_id = next(_JOB_IDS)
        cancel = threading.Event()
        self._cancels[job_id] = cancel

        def progress(done: int, total: int, message: str = "") -> None:
            self.job_progress.emit(job_id, int(done), int(total), str(message))
            self.serve_waiting(Priority.INTERACTIVE)

        def on_clip(*payload: Any) -> None:
            self.job_clip.emit(job_id, payload[0] if len(payload) == 1 else payload)
            self.serve_waiting(Priority.INTERACTIVE)

        def run() -> Any:
            if cancel.is_set():
                raise Cancelled("cancelled before it started")
            out = fn(progress, cancel, on_clip)
            if cancel.is_set():
                raise Cancelled("cancelled")
            return out

        def done(value: Any) -> None:
            self._cancels.pop(job_id, None)
            if on_done is not None:
                on_done(value)
            self.job_finished.emit(job_id, "done", "")

        def error(message: str) -> None:
            self._cancels.pop(job_id, None)
            state = "cancelled" if cancel.is_set() else "failed"
            self.job_finished.emit(job_id, state, message)

        self.job_started.emit(job_id, title)
        self.submit(run, Priority.BATCH, done, error)
        return job_id

    def cancel_job(self, job_id: int) -> None:
        event = self._cancels.get(job_id)
        if event is not None:
            event.set()

    def cancel_all(self) -> None:
        for event in self._cancels.values():
            event.set()


class InferenceWorker(JobRunner):
    """The one thread that owns the models: pipeline (text prompts) and point segmenter (SAM clicks)."""

    models_changed = Signal(str, str)  # device, model names
    profile_changed = Signal()  # set_profile took another config (GUI thread)

    def __init__(self, profile: Any = "default", parent: QObject | None = None) -> None:
        super().__init__("inference", parent)
        self.profile = profile  # a profile name, a TOML path or a PipelineConfig (settings dialog)
        self._pipeline: Any = None  # built on the worker thread on first use
        self._point_segmenter: Any = None
        self._injected: Any = None  # a point segmenter set by set_point_segmenter (kept across configs)
        self._embedded: set[str] = set()  # keys embedded by prefetch (the segmenter keeps the LRU)
        self.generation = 0  # bumped by the GUI on navigation: stale prefetches are skipped

    # ------------------------------------------------------------------ models (worker thread)
    def set_profile(self, profile: Any) -> None:
        """Use another pipeline config from the next request on (the models load again when needed)."""
        if profile is not self.profile:
            self.profile = profile
            self._pipeline = None
            self._point_segmenter = None if self._injected is None else self._injected
            self._embedded.clear()
            self.profile_changed.emit()

    def set_point_segmenter(self, segmenter: Any) -> None:
        """Use this point segmenter instead of the profile's (tests: a tiny random SAM)."""
        self._point_segmenter = self._injected = segmenter
        self._embedded.clear()
        self.submit(self._announce_models, Priority.PREFETCH)

    def pipeline(self) -> Any:
        if self._pipeline is None:
            from avs_studio.openavs import Pipeline, load_config

            self._pipeline = Pipeline.from_config(
                load_config(self.profile), point_segmenter=self._point_segmenter
            )
            self._announce_models()
        return self._pipeline

    @property
    def pipeline_loaded(self) -> bool:
        """The text pipeline (describers, translator, segmenter) is built (SAM clicks alone never build it)."""
        return self._pipeline is not None

    def configured_device(self) -> str:
        """The device the config asks for ("auto", "cpu", "cuda:0"); no torch import (that waits for the
        first model, which reports the device it really uses through models_changed)."""
        from avs_studio.openavs import load_config

        return str(load_config(self.profile).device)

    def point_segmenter(self) -> Any:
        if self._point_segmenter is None:
            from avs_studio.openavs import build_point_segmenter, load_config

            self._point_segmenter = (
                self._pipeline.point_segmenter
                if self._pipeline is not None
                else build_point_segmenter(load_config(self.profile))
            )  # only the point segmenter: SAM clicks never wait for the text pipeline's models
            if self._point_segmenter is None:
                name = getattr(self.profile, "profile", self.profile)
                raise RuntimeError(
                    f"The pipeline settings (profile {name!r}) have no point segmenter; choose one in "
                    f"Edit ▸ Settings… (point segmenter) to use SAM clicks."
                )
            self._announce_models()
        return self._point_segmenter

    def _announce_models(self) -> None:
        """Tell the status bar the device and the models in use (worker thread)."""
        pipe = self._pipeline
        device = str(getattr(pipe, "device", "") or getattr(self._point_segmenter, "device", "") or "auto")
        if device == "auto":
            from avs_studio.openavs.devices import resolve_device

            device = str(resolve_device("auto"))
        names: list[str] = []
        models = getattr(pipe, "models", None) if pipe is not None else None
        if isinstance(models, dict):
            names = [str(v) for k, v in models.items() if not k.startswith("version:")]
        if self._point_segmenter is not None:
            seg_name = str(getattr(self._point_segmenter, "name", type(self._point_segmenter).__name__))
            if not any(seg_name in n for n in names):
                names.append(seg_name)
        self.models_changed.emit(device, " + ".join(names))

    # ------------------------------------------------------------------ requests (GUI thread)
    def segment_points(
        self,
        key: str,
        image: Any,
        points: Any,
        labels: Any,
        box: tuple[float, float, float, float] | None,
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None],
    ) -> int:
        """SAM refinement of one frame: returns a bool mask through ``on_done`` (interactive)."""

        def run() -> Any:
            seg = self.point_segmenter()
            return seg.predict(key, image, points, labels, box=box)

        return self.submit(run, Priority.INTERACTIVE, on_done, on_error)

    def embed_ahead(self, key: str, image_fn: Callable[[], Any]) -> None:
        """Compute the image embedding of a nearby keyframe in the background (dropped when stale)."""
        if key in self._embedded:
            return
        self._embedded.add(key)
        gen = self.generation

        def run() -> None:
            seg = self._point_segmenter
            if seg is None or gen != self.generation:  # stale: the user moved on
                self._embedded.discard(key)
                return
            seg.embed(key, image_fn())

        def forget(_msg: str) -> None:
            self._embedded.discard(key)

        self.submit(run, Priority.PREFETCH, None, forget)

    def resegment(
        self,
        image: Any,
        phrases: list[str],
        key: str | None,
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None],
    ) -> int:
        """Run the text segmenter on one frame with these phrases (interactive)."""

        def run() -> Any:
            return self.pipeline().segment_frame(image, phrases, key=key)

        return self.submit(run, Priority.INTERACTIVE, on_done, on_error)
