"""ProposalController: proposals from the window: run the project's proposal engine (OpenAVS or a
student, ``jobs.engine``) as jobs on the inference worker, follow their clips as they are stored, keep the
current clip's OpenAVS exchange for the prompt panel, and re-segment one frame with edited phrases
(``jobs.resegment``: the same rule as a proposal run).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from avs_studio.jobs.clips import frame_key
from avs_studio.jobs.engine import DEFAULT_ENGINE, Engine, EngineError, resolve_engine
from avs_studio.jobs.resegment import segment_frame, store_frame
from avs_studio.session.controller import Controller
from avs_studio.session.display import frame_number
from avs_studio.session.prompts import clip_for_frame, parse_clip_result
from avs_studio.session.runners import FrameSource, JobFn, Priority, Runner, Worker
from avs_studio.session.state import AnnotationSession
from avs_studio.store import ClipResultRow, ProposalCounts


def profile_name(profile: Any) -> str:
    """A worker profile (name, TOML path or PipelineConfig) as the user knows it."""
    return str(getattr(profile, "profile", profile))


class ProposalController(Controller):
    def __init__(
        self, session: AnnotationSession, writer: Runner, worker: Worker, frames: FrameSource
    ) -> None:
        super().__init__(session, writer)
        self.worker = worker
        self.frames = frames
        self._clip_rows: list[ClipResultRow] = []
        self._clip_rows_video: int | None = None
        self._clip_row_shown: int | None = None
        self.events.frame_shown.connect(lambda _frame: self.refresh_prompt())

    # ------------------------------------------------------------------ the current clip's prompt
    def refresh_prompt(self, force: bool = False) -> None:
        """Tell the prompt panel about the clip holding the frame (or only which keyframe to highlight)."""
        s = self.session
        if s.project is None or s.video is None:
            self.events.prompt_changed.emit(None)
            return
        if force or self._clip_rows_video != s.video.id:
            self._clip_rows = s.store.clip_results(s.video.id)
            self._clip_rows_video = s.video.id
        row = clip_for_frame(self._clip_rows, s.frame, s.clip())
        shown = self._clip_row_shown
        if force or row is None or shown is None or row.id != shown:
            self._clip_row_shown = row.id if row is not None else None
            if row is None and shown is None and not force:
                return
            self.events.prompt_changed.emit(parse_clip_result(row) if row is not None else None)
        else:
            self.events.prompt_frame.emit(s.frame)

    # ------------------------------------------------------------------ re-segment one frame
    def rerun_prompt(self, phrases: Sequence[str] | None) -> None:
        """T: segment the shown frame again with its phrases (as edited in the prompt panel)."""
        if phrases is None:
            self.say("This frame has no text prompt yet: run OpenAVS on the clip first (Annotate menu)", 5000)
            return
        self.resegment_frame(self.session.frame, list(phrases))

    def resegment_frame(self, frame: int, phrases: list[str]) -> None:
        """Run the text segmenter on ``frame`` with ``phrases`` (worker), then replace its proposals."""
        s = self.session
        if s.project is None or s.video is None or not self.may_edit():
            return
        project, worker, path, vid = s.project, self.worker, s.video.path, s.video.id
        image = s.image if frame == s.shown else None
        reader = self.frames.reader

        def run() -> tuple[list[Any], tuple[int, int]]:
            img = image if image is not None else reader(path).frame(frame)
            objects = segment_frame(worker.pipeline(), img, phrases, key=frame_key(vid, frame))
            return objects, (int(img.shape[0]), int(img.shape[1]))

        def stored(counts: ProposalCounts) -> None:
            s.reload(all_frames=frame != s.shown)
            if counts.skipped:
                self.say(f"frame {frame_number(frame)} was reviewed or edited: its masks were kept")
            else:
                self.say(f"frame {frame_number(frame)}: {counts.annotations} proposal(s) stored")

        def done(result: tuple[list[Any], tuple[int, int]]) -> None:
            objects, shape = result
            self.write(lambda: store_frame(project, vid, frame, phrases, objects, shape), stored, "proposal")

        def failed(message: str) -> None:
            self.events.error.emit("Re-segmenting the frame failed", message)

        self.say(f"segmenting frame {frame_number(frame)} with: {', '.join(phrases) or '(nothing)'}…", 5000)
        self.worker.submit(run, Priority.INTERACTIVE, done, failed)

    # ------------------------------------------------------------------ proposal jobs
    def engine(self) -> Engine:
        """The engine a proposal run uses now: the project's (``jobs.engine.proposal_engine``); a setting
        that cannot be used falls back to OpenAVS (EngineController reports it)."""
        project = self.session.project
        assert project is not None
        try:
            return resolve_engine(project)
        except EngineError:
            return Engine(DEFAULT_ENGINE, "", "default")

    def shares_pipeline(self, engine: Engine) -> bool:
        """OpenAVS with the window's pipeline settings (bare ``openavs``, or ``openavs:P`` where P is
        their profile): the worker's pipeline runs, its models already loaded, never a second copy."""
        return engine.kind == DEFAULT_ENGINE and engine.name in ("", profile_name(self.worker.profile))

    def _propose_job(self, engine: Engine, video_ids: list[int], frames: Any = None) -> JobFn:
        """A job proposing with ``engine`` through jobs.propose (see ``shares_pipeline``)."""
        project, worker = self.session.project, self.worker
        assert project is not None
        shared = self.shares_pipeline(engine)

        def job(progress: Callable[..., None], cancel: Any, on_clip: Callable[..., None]) -> Any:
            from avs_studio.jobs.propose import propose

            report = propose(
                project, video_ids, worker.pipeline() if shared else None,
                engine=Engine(DEFAULT_ENGINE) if shared else engine, frames=frames,
                progress=progress, cancel=cancel, on_clip=on_clip,
            )  # fmt: skip
            if report.errors:
                raise RuntimeError("; ".join(report.errors))
            return report

        return job

    def engine_title(self, engine: Engine) -> str:
        """How a job names its engine: the pipeline settings' profile for OpenAVS run by the worker."""
        if self.shares_pipeline(engine):
            name = profile_name(self.worker.profile)
            return f"OpenAVS ({Path(name).stem if name.endswith('.toml') else name})"
        return engine.label

    def run_current_clip(self) -> int | None:
        """Propose the keyframes of the clip holding this frame with the project's engine (one job;
        jobs.propose's frames=)."""
        s = self.session
        if s.project is None or s.video is None:
            return None
        first, end = s.clip()
        engine = self.engine()
        fps = s.video.fps or 1.0
        title = f"{self.engine_title(engine)} on {s.video.name} {first / fps:.0f}–{end / fps:.0f} s"
        return self.worker.start_job(title, self._propose_job(engine, [s.video.id], range(first, end)))

    def run_videos(self, video_ids: list[int]) -> int | None:
        """Propose masks for whole videos with the project's engine on the inference worker; each clip
        shows up as it is stored."""
        if self.session.project is None:
            return None
        engine = self.engine()
        title = f"{self.engine_title(engine)} on {len(video_ids)} video(s)"
        return self.worker.start_job(title, self._propose_job(engine, list(video_ids)))

    def clip_done(self, payload: Any) -> None:
        """A clip's proposals are stored (jobs.propose's on_clip(video_id, frames)): refresh what shows them."""
        s = self.session
        vid = payload[0] if isinstance(payload, tuple) and payload else None
        if s.video is not None and (vid is None or vid == s.video.id):
            s.reload(all_frames=True)
            self.refresh_prompt(force=True)
        elif vid is not None:
            self.events.counts_changed.emit(int(vid))

    def job_finished(self) -> None:
        """A job ended (done, failed or cancelled): it may have changed anything shown."""
        if self.session.video is not None:
            self.session.reload(all_frames=True)
            self.refresh_prompt(force=True)
