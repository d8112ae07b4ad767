"""A headless annotation window: the real AnnotationSession and controllers on synchronous runners.

Everything a controller does runs at once on the calling thread (``ImmediateRunner``): the store writes,
the model calls (``SyncWorker``: the real pipeline and point segmenter, built from a profile) and frame
decoding (``SyncFrames``: real ``VideoReader``s; ``Headless.show(frame)`` seeks and delivers).

    h = Headless(project, worker=SyncWorker(config_path))
    h.nav.open_video(video_id)     # first frame shown
    h.edit.commit_mask(mask)       # stored now
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from avs_studio.jobs import Project
from avs_studio.media import VideoReader
from avs_studio.session import (
    AnnotationSession,
    Controllers,
    ImmediateRunner,
    NavigationController,
)


class SyncFrames:
    """Decodes with real readers; requests wait until ``deliver`` (the newest wins, as in the GUI)."""

    def __init__(self) -> None:
        self.readers: dict[str, VideoReader] = {}
        self.wanted: tuple[str, int] | None = None
        self.requests = 0

    def reader(self, path: str) -> VideoReader:
        if path not in self.readers:
            self.readers[path] = VideoReader(path, prefetch=0)
        return self.readers[path]

    def request(self, path: str, index: int) -> None:
        self.wanted = (path, index)
        self.requests += 1

    def deliver(self, nav: NavigationController) -> None:
        if self.wanted is not None:
            path, index = self.wanted
            self.wanted = None
            nav.frame_ready(path, index, self.reader(path).frame(index))

    def close(self) -> None:
        for reader in self.readers.values():
            reader.close()


class SyncWorker(ImmediateRunner):
    """The inference worker's API, run at once: pipeline from ``profile``, point segmenter injected or
    the pipeline's; jobs run to the end inside ``start_job``."""

    def __init__(self, profile: Any = "default", point_segmenter: Any = None) -> None:
        super().__init__()
        self.profile = profile
        self.generation = 0
        self._pipeline: Any = None
        self._point = point_segmenter
        self.embedded: list[str] = []
        self.jobs: list[tuple[str, str, Any]] = []  # (title, "done" | "failed", result or message)
        self.clips: list[Any] = []  # on_clip payloads
        self.on_clip: Callable[[Any], None] | None = None  # called with each payload as it comes

    def pipeline(self) -> Any:
        if self._pipeline is None:
            from avs_studio.openavs import Pipeline, load_config

            self._pipeline = Pipeline.from_config(load_config(self.profile))
        return self._pipeline

    def point_segmenter(self) -> Any:
        if self._point is None:
            self._point = self.pipeline().point_segmenter
        return self._point

    def start_job(
        self, title: str, fn: Callable[..., Any], on_done: Callable[[Any], None] | None = None
    ) -> int:
        class Never:
            def is_set(self) -> bool:
                return False

        def on_clip(*payload: Any) -> None:
            self.clips.append(payload[0] if len(payload) == 1 else payload)
            if self.on_clip is not None:
                self.on_clip(self.clips[-1])

        try:
            result = fn(lambda *a: None, Never(), on_clip)
        except Exception as exc:
            self.jobs.append((title, "failed", str(exc)))
        else:
            self.jobs.append((title, "done", result))
            if on_done is not None:
                on_done(result)
        return len(self.jobs)

    def segment_points(
        self,
        key: str,
        image: np.ndarray,
        points: np.ndarray,
        labels: np.ndarray,
        box: Any,
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None],
    ) -> int:
        return self.submit(
            lambda: self.point_segmenter().predict(key, image, points, labels, box=box), 0, on_done, on_error
        )

    def embed_ahead(self, key: str, image_fn: Callable[[], np.ndarray]) -> None:
        self.embedded.append(key)
        if self._point is not None:
            self._point.embed(key, image_fn())


class Headless:
    """The session and every controller, wired as the window wires them, with events recorded."""

    def __init__(self, project: Project | None = None, worker: SyncWorker | None = None) -> None:
        self.session = s = AnnotationSession(clip_keyframes=5)
        self.writer = ImmediateRunner()
        self.media = ImmediateRunner()
        self.frames = SyncFrames()
        self.worker = worker or SyncWorker()
        self.controllers = c = Controllers.wire(s, self.writer, self.worker, self.frames, self.media, ImmediateRunner())
        self.nav, self.edit, self.review, self.history, self.objects = c.nav, c.edit, c.review, c.history, c.objects
        self.proposals, self.propagation, self.engines = c.proposals, c.propagation, c.engines
        self.review_queue = c.review_queue
        self.worker.on_clip = c.job_output
        self.engine_changes: list[Any] = []
        self.questions: list[tuple[str, str]] = []  # what the assignment guard asked (annotator, text)
        self.answer = True  # the answer it gets
        s.edit_guard.ask = lambda who, text: self.questions.append((who, text)) or self.answer
        s.events.engine_changed.connect(self.engine_changes.append)
        self.messages: list[str] = []
        self.errors: list[tuple[str, str]] = []
        self.previews: list[Any] = []
        self.prompts: list[Any] = []
        self.media_loaded: list[Any] = []
        s.events.message.connect(lambda text, _ms: self.messages.append(text))
        s.events.error.connect(lambda title, text: self.errors.append((title, text)))
        s.events.preview.connect(self.previews.append)
        s.events.prompt_changed.connect(self.prompts.append)
        s.events.media_loaded.connect(self.media_loaded.append)
        if project is not None:
            s.set_project(project)
            self.nav.open_last_video()
            self.deliver()

    def deliver(self) -> None:
        self.frames.deliver(self.nav)

    def show(self, frame: int) -> None:
        self.nav.seek(frame)
        self.deliver()

    @property
    def store(self) -> Any:
        return self.session.store

    def close(self) -> None:
        self.frames.close()
