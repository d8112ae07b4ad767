"""Propose masks for a project's videos: run a proposal engine clip by clip and store the results.

Which engine runs is avs_studio.jobs.engine's decision (an argument, else the project's setting); every
run is a pipeline run whose ``engine`` names what proposed ("openavs:PROFILE", "student:NAME") and every
stored proposal carries that run's id and the engine as author (what `quality` reads back).

Each clip (``clip_seconds`` keyframes) is written in ONE transaction: its objects, its annotations
(source "proposal", status "proposed"; an explicit empty proposal where nothing visible sounds) and its
provenance (describer texts, the LLM exchange, boxes, scores, timings). A keyframe a person has reviewed
or edited (any annotation on it not "proposed") is left alone. Cancelling stops between clips, so only
whole clips are ever stored.
"""

from __future__ import annotations

import importlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from avs_studio import settings
from avs_studio.jobs.clips import split_clips
from avs_studio.jobs.engine import Engine, resolve_engine
from avs_studio.jobs.project import Project, keyframes
from avs_studio.openavs import ClipProposal, FrameProposal, Pipeline, PipelineConfig
from avs_studio.openavs.pipeline import PipelineError
from avs_studio.progress import Progress
from avs_studio.store import FrameMasks, ProposalCounts, VideoRow

if TYPE_CHECKING:
    from avs_studio.jobs.executor import ExecutorOptions

OnClip = Callable[[int, list[FrameProposal]], None]
SOURCE = "proposal"


class ProposeError(Exception):
    """Proposing cannot start (unknown video or engine, missing student model); names what to fix."""


@dataclass
class ProposeReport:
    engine: str
    run_id: int | None = None
    videos: int = 0
    clips: int = 0
    keyframes: int = 0  # keyframes written (with objects or explicitly empty)
    annotations: int = 0  # object masks written
    empty: int = 0  # explicit empty proposals written
    skipped: int = 0  # keyframes left alone because a person reviewed or edited them
    new_objects: int = 0
    fallback_clips: int = 0  # clips the LLM gave no usable answer for: the fallback translator answered
    salvaged_clips: int = 0  # clips whose LLM answer lacked frames (padded with "no object")
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # runs through an executor (avs_studio.jobs.propose_batch): executor, workers, fingerprint,
    # already_stored (clips skipped on resume), retried, requeued, lost_workers, failed, clips_per_s
    execution: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def add_clip(self, counts: ProposalCounts) -> None:
        """Count one stored clip (what ``write_clip`` returned)."""
        self.clips += 1
        self.keyframes += len(counts.written)
        self.annotations += counts.annotations
        self.empty += counts.empty
        self.skipped += counts.skipped
        self.new_objects += counts.new_objects


# ---------------------------------------------------------------- engines


def _student(project: Project, name: str, **kw: Any) -> Any:
    try:
        module = importlib.import_module("avs_studio.jobs.propose_student")
    except ModuleNotFoundError as exc:
        if exc.name != "avs_studio.jobs.propose_student":
            raise
        raise ProposeError(
            f"the student engine is not available in this installation (avs_studio.jobs.propose_student is "
            f"missing), so `student:{name}` cannot propose; use --engine openavs"
        ) from exc
    kw.pop("config", None)  # the student has no pipeline config
    return module.propose_with_student(project, name, **kw)


def _openavs(project: Project, name: str, *, config: Any = None, **kw: Any) -> ProposeReport:
    """``name``: the engine's profile, which wins; bare "openavs" runs the caller's ``config``."""
    from avs_studio.jobs.propose_openavs import propose_openavs

    return propose_openavs(project, config=name or config, **kw)


# engine kind -> function(project, name, video_ids=, split=, device=, progress=, cancel=, frames=, config=,
# on_clip=); the kinds are avs_studio.jobs.engine.KINDS
ENGINES: dict[str, Callable[..., ProposeReport]] = {"openavs": _openavs, "student": _student}


def propose(
    project: Project,
    video_ids: Sequence[int] | None = None,
    config: PipelineConfig | Pipeline | str | Path | None = None,
    *,
    split: str | None = None,
    device: str = "auto",
    engine: str | Engine | None = None,
    progress: Progress | None = None,
    cancel: Any = None,
    on_clip: OnClip | None = None,
    frames: Sequence[int] | None = None,
    executor: ExecutorOptions | str | None = None,
    resume: bool = False,
) -> ProposeReport:
    """Propose masks for ``video_ids`` (None: every video, or those of ``split``).

    ``executor`` (an avs_studio.jobs.executor.ExecutorOptions, or "local" / "ray"): run the clips through
    that executor (avs_studio.jobs.propose_batch): a failing clip is retried, then reported in
    ``errors`` while the others are stored; ``resume`` skips clips already stored with the same
    configuration. None (the GUI's way): in this process, stopping at the first failing clip.

    ``frames``: only the clips holding these keyframes (of each chosen video; other frame numbers are
    ignored, and videos without such a clip are skipped); None = every clip.

    ``engine``: "openavs", "openavs:PROFILE", "student:NAME" or a resolved Engine; None = OpenAVS when
    ``config`` is given, else the project's proposal engine (avs_studio.jobs.engine.resolve_engine).
    ``config`` (OpenAVS only): a profile name, a TOML path, a PipelineConfig, or a built Pipeline (the
    GUI's, whose models stay loaded), used by a bare "openavs" engine; an "openavs:PROFILE" engine runs
    its profile instead; None = "default". The report and the pipeline run record the engine that ran
    ("openavs:PROFILE" or "student:NAME").
    Raises EngineError, TranslationError (nothing of the failing clip is written), ModelMissingError,
    ConfigError.
    """
    chosen = resolve_engine(project, engine, config)
    kw: dict[str, Any] = dict(
        video_ids=video_ids, split=split, device=device, progress=progress, cancel=cancel, frames=frames
    )
    if executor is not None or resume:
        from avs_studio.jobs.propose_batch import propose_batch

        return propose_batch(
            project, chosen.kind, chosen.name, config=config, executor=executor, resume=resume, **kw
        )
    return ENGINES[chosen.kind](project, chosen.name, config=config, on_clip=on_clip, **kw)


# ---------------------------------------------------------------- openavs


def llm_settings(project: Project) -> dict[str, str]:
    """The project's LLM endpoint (GUI settings "pipeline" -> "llm"); empty values dropped."""
    llm = settings.get(project.store, settings.PIPELINE).llm  # a bad stored value is logged and left out
    return {k: v for k, v in llm.model_dump().items() if v}


def select_videos(project: Project, video_ids: Sequence[int] | None, split: str | None) -> list[VideoRow]:
    rows = project.store.videos(split)
    if video_ids is None:
        return rows
    by_id = {v.id: v for v in project.store.videos()}
    missing = [i for i in video_ids if i not in by_id]
    if missing:
        raise ProposeError(
            f"no video with id {', '.join(map(str, missing))} in {project.dir}; "
            f"known ids: {', '.join(str(i) for i in sorted(by_id)) or 'none'}"
        )
    chosen = [by_id[i] for i in dict.fromkeys(video_ids)]
    return [v for v in chosen if split is None or v.split == split]


def plan_clips(
    videos: list[VideoRow], size: int, frames: Sequence[int] | None = None
) -> list[tuple[VideoRow, list[list[int]]]]:
    """(video, its clips of ``size`` keyframes) per video; with ``frames``, only the clips holding one of
    them, and only the videos that have such a clip."""
    plan = [(v, split_clips(keyframes(v), size)) for v in videos]
    if frames is None:
        return plan
    wanted = {int(f) for f in frames}
    plan = [(v, [c for c in clips if wanted.intersection(c)]) for v, clips in plan]
    return [(v, clips) for v, clips in plan if clips]


ProposeVideo = Callable[[VideoRow, list[list[int]], int, int], int]


def run_plan(
    project: Project,
    report: ProposeReport,
    plan: list[tuple[VideoRow, list[list[int]]]],
    propose_video: ProposeVideo,
    *,
    config: dict[str, Any],
    models: dict[str, Any],
    started: float,
    progress: Progress | None,
    cancel: Any,
    what: str = "",
) -> ProposeReport:
    """Run ``propose_video(video, clips, done, total) -> clips handled`` on each planned video within one
    pipeline run of ``report.engine`` (its row finished "done", "cancelled" or "failed")."""
    total = sum(len(c) for _, c in plan)
    report.run_id = project.store.start_pipeline_run(report.engine, config, models)
    done = 0
    status = "failed"
    try:
        if progress:
            progress(0, total, f"proposing {total} clips of {len(plan)} videos{what}")
        for video, clips in plan:
            if stop_requested(cancel):
                break
            done += propose_video(video, clips, done, total)
        report.cancelled = stop_requested(cancel)
        status = "cancelled" if report.cancelled else "done"
    finally:
        report.timings["total"] = time.perf_counter() - started
        project.store.finish_pipeline_run(report.run_id, status, dict(report.timings))
    return report


MakeClip = Callable[[list[int]], "tuple[list[FrameProposal], dict[str, Any]] | None"]


def propose_clips(
    project: Project,
    report: ProposeReport,
    video: VideoRow,
    clips: list[list[int]],
    make_clip: MakeClip,
    shape: tuple[int, int],
    *,
    done: int,
    total: int,
    progress: Progress | None,
    cancel: Any,
    on_clip: OnClip | None = None,
    timing: str | None = None,
    author: str = "openavs",
    source: str = SOURCE,
) -> int:
    """Store ``make_clip(indices) -> (proposals, result)`` of each clip (None stops); returns clips stored.
    ``timing``: the report timing that sums the clips' seconds (None: not timed)."""
    label = f"video {video.id} ({video.name})"
    handled = 0
    for indices in clips:
        if stop_requested(cancel):
            break
        t0 = time.perf_counter()
        made = make_clip(indices)
        if made is None:
            break
        frames, result = made
        counts = write_clip(
            project,
            video.id,
            frames,
            shape,
            run_id=report.run_id,
            result=result,
            author=author,
            source=source,
        )
        handled += 1
        report.add_clip(counts)
        if timing is not None:
            report.timings[timing] = report.timings.get(timing, 0.0) + time.perf_counter() - t0
        if on_clip is not None:
            written = set(counts.written)
            on_clip(video.id, [fp for fp in frames if fp.frame_index in written])
        if progress:
            progress(done + handled, total, f"{label}: frames {indices[0]}-{indices[-1]}")
    return handled


def audio_span(frame_time: float, rate: float) -> tuple[float, float]:
    """The audio segment of a keyframe: its whole keyframe period (AVSBench: the second it starts)."""
    period = 1.0 / rate
    start = math.floor(frame_time * rate + 1e-6) * period
    return start, start + period


def jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def silent_clip(indices: list[int]) -> tuple[list[FrameProposal], dict[str, Any]]:
    """A clip of a video without sound: explicit empty proposals (nothing sounds) and its provenance."""
    return [FrameProposal(i, [], []) for i in indices], {"no_audio": True, "frames": list(indices)}


def clip_result(
    proposal: ClipProposal, indices: list[int], spans: list[tuple[float, float]], label: str
) -> dict[str, Any]:
    """A clip's provenance (what each stage said); PipelineError if the pipeline answered other frames."""
    frames = proposal.frames
    if [fp.frame_index for fp in frames] != list(indices):
        raise PipelineError(
            f"{label}: the pipeline answered frames {[fp.frame_index for fp in frames]} for {indices}"
        )
    return {
        "frames": list(indices),
        "spans": spans,
        "descriptions": proposal.descriptions,
        "translation": proposal.translation,
        "phrases": [fp.phrases for fp in frames],
        "objects": [_frame_result(fp) for fp in frames],
        "timings": proposal.timings,
    }


def _frame_result(fp: FrameProposal) -> list[dict[str, Any]]:
    return [
        {
            "phrase": o.phrase,
            "box": [round(float(v), 2) for v in o.box],
            "box_score": round(float(o.box_score), 4),
            "mask_score": round(float(o.mask_score), 4),
            "area": int(np.count_nonzero(o.mask)),
        }
        for o in fp.objects
    ]


def write_clip(
    project: Project,
    video_id: int,
    frames: list[FrameProposal],
    shape: tuple[int, int],
    *,
    run_id: int | None,
    result: dict[str, Any],
    author: str = "openavs",
    source: str = SOURCE,
) -> ProposalCounts:
    """Store one clip's proposals, objects and provenance in one transaction (all or nothing)."""
    return project.store.replace_proposals(
        video_id, merge_by_phrase(frames, shape), shape, run_id=run_id, result=jsonable(result),
        author=author, source=source,
    )  # fmt: skip


def merge_by_phrase(frames: list[FrameProposal], shape: tuple[int, int]) -> list[FrameMasks]:
    """The masks of one phrase merged into one object, empty masks dropped (a frame left with none:
    "nothing sounds"); ValueError for a mask of another size than the frame."""
    plain = []
    for fp in frames:
        by_phrase: dict[str, tuple[np.ndarray, float]] = {}
        for obj in fp.objects:
            m = np.asarray(obj.mask, dtype=bool)
            if m.shape != shape:
                raise ValueError(f"segmenter mask of shape {m.shape} for a {shape[1]}x{shape[0]} frame")
            if not m.any():
                continue
            label = obj.phrase.strip().lower()
            old = by_phrase.get(label)
            by_phrase[label] = (
                m if old is None else old[0] | m,
                max(float(obj.box_score), old[1] if old else 0.0),
            )
        plain.append(FrameMasks(fp.frame_index, [(k, m, sc) for k, (m, sc) in by_phrase.items()]))
    return plain


def count_translation(report: ProposeReport, label: str, indices: list[int], translation: dict[str, Any]) -> None:
    """Count (and name in a warning) a clip whose LLM answer was replaced or padded."""
    where = f"{label}: frames {indices[0]}-{indices[-1]}"
    if translation.get("fallback"):
        report.fallback_clips += 1
        fb = translation["fallback"]
        report.warnings.append(
            f"{where}: the {fb.get('from')} translator gave no usable answer; the {translation.get('translator')} "
            f"translator answered instead ({str(fb.get('error', ''))[:160]})"
        )
    elif translation.get("salvaged"):
        report.salvaged_clips += 1


def stop_requested(cancel: Any) -> bool:
    return cancel is not None and cancel.is_set()
