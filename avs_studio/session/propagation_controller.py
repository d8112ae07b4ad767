"""PropagationController: carry the reviewed masks of the open video to the frames around them
(``jobs.propagate``: ADR 0014) as a job on the inference worker, with progress and cancel in the jobs dock.

The results are proposals like any other (source "propagation"): each segment shows on the timeline and
the canvas as soon as it is stored (``segment_stored``), and is reviewed with A / R or edited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from avs_studio import settings
from avs_studio.session.controller import Controller
from avs_studio.session.runners import Runner, Worker
from avs_studio.session.state import AnnotationSession


@dataclass(frozen=True)
class SegmentStored:
    """What a propagation job reports through ``on_clip`` after each write (``propagate``'s on_segment)."""

    video_id: int
    frames: list[int]


class PropagationController(Controller):
    def __init__(
        self, session: AnnotationSession, writer: Runner, worker: Worker, engine: str | None = None
    ) -> None:
        super().__init__(session, writer)
        self.worker = worker
        self.engine = engine  # None: the propagation config's default engine ("flow", no weights)

    def propagate(self, selected_only: bool = False) -> int | None:
        """Propagate the selected object (or every object) over the open video; returns the job id."""
        s = self.session
        if s.project is None or s.video is None:
            return None
        objects: list[int] | None = None
        what = "all objects"
        if selected_only:
            obj = s.selected()
            if obj is None:
                self.say("Select an object first (keys 1…9 or the object list)", 5000)
                return None
            objects, what = [obj.id], repr(obj.label)
        project, vid, engine = s.project, s.video.id, self.engine

        def job(progress: Callable[..., None], cancel: Any, on_clip: Callable[..., None]) -> Any:
            from avs_studio.jobs.propagate import propagate

            report = propagate(
                project, [vid], engine=engine, objects=objects, progress=progress, cancel=cancel,
                on_segment=lambda v, frames: on_clip(SegmentStored(v, list(frames))),
            )  # fmt: skip
            if report.errors:
                raise RuntimeError("; ".join(report.errors))
            return report

        self.say(f"propagating {what} through {s.video.name}…", 3000)
        return self.worker.start_job(f"Propagate {what} in {s.video.name}", job, on_done=self._done)

    def engine_name(self) -> str:
        """The engine Propagate runs: the one this controller was made with, else the project's setting."""
        project = self.session.project
        if self.engine is not None or project is None:
            return self.engine or settings.ProjectSettings.model_fields["propagation_engine"].default
        return str(settings.get(project.store, settings.PROPAGATION_ENGINE))

    def set_engine(self, name: str) -> None:
        """Make ``name`` (flow, sam2, sam3) the project's propagation engine (the CLI's default too)."""
        project = self.session.project
        if project is None:
            return
        self.engine = None  # from now on the project's setting decides
        self.write(
            lambda: settings.put(project.store, settings.PROPAGATION_ENGINE, name),
            lambda chosen: self.say(f"Propagate now runs {chosen} (Ctrl+P, Ctrl+Shift+P)", 5000),
            "propagation engine",
        )

    def propagate_selected(self) -> int | None:
        return self.propagate(selected_only=True)

    def propagate_all(self) -> int | None:
        return self.propagate(selected_only=False)

    def segment_stored(self, payload: SegmentStored) -> None:
        """A segment's proposals are stored: the timeline and (if it is among them) the canvas show them."""
        s = self.session
        if s.video is not None and payload.video_id == s.video.id:
            s.refresh_frames(payload.frames)
        self.events.counts_changed.emit(payload.video_id)

    def _done(self, report: Any) -> None:
        self.session.reload(all_frames=True)
        if report.warnings and not report.frames:
            self.say("Nothing propagated: " + "; ".join(report.warnings)
                     + " (accept or edit a frame's masks first)", 8000)  # fmt: skip
        else:
            self.say(f"{report.frames} frames proposed by propagation ({report.engine}); review them "
                     f"frame by frame (Left / Right) or accept the clip (Shift+A)", 8000)  # fmt: skip

