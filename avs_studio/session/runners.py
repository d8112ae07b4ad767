"""What the session's controllers need from the threads around them, as protocols (no Qt).

The GUI passes its Qt runners (``gui.worker.TaskRunner``, ``InferenceWorker``, ``gui.frames.FrameLoader``);
tests and scripts pass ``ImmediateRunner`` and their own fakes. A callback given to ``submit`` runs on the
thread that owns the session (the GUI thread), never on the runner's thread.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from typing import Any, Protocol

import numpy as np

from avs_studio.media import VideoReader

OnDone = Callable[[Any], None]
OnError = Callable[[str], None]
# a long job: fn(progress(done, total, message), cancel (has is_set()), on_clip(*payload)) -> result
JobFn = Callable[[Callable[..., None], Any, Callable[..., None]], Any]


class Priority(IntEnum):
    """Order of the inference queue: a click before a prefetch before a batch of proposals."""

    INTERACTIVE = 0
    PREFETCH = 1
    BATCH = 2


class Runner(Protocol):
    """Runs callables one after another off the session's thread (the writer: every store write, in order)."""

    def submit(
        self,
        fn: Callable[[], Any],
        priority: int = Priority.INTERACTIVE,
        on_done: OnDone | None = None,
        on_error: OnError | None = None,
    ) -> int: ...


class Worker(Runner, Protocol):
    """The thread that owns the models (``gui.worker.InferenceWorker``)."""

    profile: Any  # a profile name, a TOML path or a PipelineConfig
    generation: int  # bumped on navigation: stale prefetches are skipped

    def pipeline(self) -> Any: ...  # openavs.Pipeline (worker thread only)

    def point_segmenter(self) -> Any: ...  # worker thread only

    def start_job(self, title: str, fn: JobFn, on_done: OnDone | None = None) -> int: ...

    def segment_points(
        self,
        key: str,
        image: np.ndarray,
        points: np.ndarray,
        labels: np.ndarray,
        box: tuple[float, float, float, float] | None,
        on_done: OnDone,
        on_error: OnError,
    ) -> int: ...

    def embed_ahead(self, key: str, image_fn: Callable[[], np.ndarray]) -> None: ...


class FrameSource(Protocol):
    """Decodes frames off the session's thread; the answer comes back as ``NavigationController.frame_ready``."""

    def request(self, path: str, index: int) -> None: ...

    def reader(self, path: str) -> VideoReader: ...  # shared readers, safe from any thread


class ImmediateRunner:
    """A Runner that runs each callable at once on the calling thread (tests, scripts)."""

    def __init__(self) -> None:
        self.count = 0

    def submit(
        self,
        fn: Callable[[], Any],
        priority: int = Priority.INTERACTIVE,
        on_done: OnDone | None = None,
        on_error: OnError | None = None,
    ) -> int:
        self.count += 1
        try:
            value = fn()
        except Exception as exc:  # delivered like a runner thread would: a message, never lost
            if on_error is None:
                raise
            on_error(str(exc) or type(exc).__name__)
        else:
            if on_done is not None:
                on_done(value)
        return self.count
