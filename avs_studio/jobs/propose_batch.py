"""Proposals through an executor (local or Ray): clips are the unit of work, each stored as it finishes.

What is added to plain ``propose`` (same engines, same writer, same rules for reviewed keyframes):
- the clip's work (OpenAVSWork, StudentWork) is a picklable recipe a worker builds once and keeps;
  workers send back compact results (RLE masks, provenance), the driver writes them (store.replace_proposals);
- the configuration's fingerprint (``fingerprint``: engine + settings, not device or concurrency) is
  recorded in the run's config and in every clip's provenance; ``resume`` skips a clip whose newest
  stored result has the same fingerprint, so a killed run continues where it stopped and no clip is
  stored twice;
- a failing clip is retried, then reported in ``ProposeReport.errors`` while the others are stored.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avs_studio import masks
from avs_studio.jobs.clips import clip_length
from avs_studio.jobs.engine import openavs_engine_id
from avs_studio.jobs.executor import ClipTask, ExecutorOptions, run_clips
from avs_studio.jobs.project import Project
from avs_studio.jobs.propose import (
    SOURCE,
    ProposeError,
    ProposeReport,
    audio_span,
    clip_result,
    count_translation,
    jsonable,
    llm_settings,
    merge_by_phrase,
    plan_clips,
    select_videos,
    silent_clip,
)
from avs_studio.media import NoAudioError, VideoReader, load_audio
from avs_studio.openavs import Clip, FrameProposal, Pipeline, PipelineConfig, load_config
from avs_studio.progress import Progress
from avs_studio.store import FrameMasks, VideoRow

# settings that change where or how fast a clip is computed, not what is computed
VOLATILE = frozenset({"device", "parallel", "timeout", "http_retries", "api_key"})

RLEFrames = list[tuple[int, list[tuple[str | int, dict[str, Any], float | None]]]]


def fingerprint(engine: str, config: dict[str, Any]) -> str:
    """What makes two runs "the same configuration": the engine and its settings (JSON, keys sorted),
    leaving out device, concurrency and timeouts."""

    def clean(x: Any) -> Any:
        if isinstance(x, dict):
            return {str(k): clean(v) for k, v in x.items() if k not in VOLATILE}
        if isinstance(x, list | tuple):
            return [clean(v) for v in x]
        return x

    text = json.dumps({"engine": engine, "config": clean(jsonable(config))}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class ClipOutput:
    """What a worker sends back for one clip: masks as RLE (small on the wire), provenance, models."""

    shape: tuple[int, int]
    frames: RLEFrames
    result: dict[str, Any]
    models: dict[str, str] = field(default_factory=dict)

    @classmethod
    def pack(
        cls, frames: list[FrameMasks], shape: tuple[int, int], result: dict[str, Any], models: dict[str, str]
    ) -> ClipOutput:
        wire = [(f.frame, [(label, _rle(m), sc) for label, m, sc in f.objects]) for f in frames]
        return cls(shape, wire, jsonable(result), dict(models))

    def unpack(self) -> list[FrameMasks]:
        return [FrameMasks(i, [(lb, masks.decode(r), sc) for lb, r, sc in objs]) for i, objs in self.frames]


def _rle(mask: np.ndarray | dict[str, Any]) -> dict[str, Any]:
    return mask if isinstance(mask, dict) else masks.encode(mask)


# ---------------------------------------------------------------- work: OpenAVS


@dataclass(frozen=True)
class OpenAVSWork:
    """Build the pipeline of ``config`` once per worker (``needs_pipeline`` False: every video is silent)."""

    config: PipelineConfig
    device: str = "auto"
    needs_pipeline: bool = True

    def build(self) -> OpenAVSClips:
        pipeline = Pipeline.from_config(self.config, device=self.device) if self.needs_pipeline else None
        return OpenAVSClips(pipeline)


class OpenAVSClips:
    """The OpenAVS clip function: the clips of one video run through ``Pipeline.run_many`` (LLM prompts
    of the next clips in flight); the open video and its audio are kept for the next call."""

    def __init__(self, pipeline: Pipeline | None):
        self.pipeline = pipeline
        self.models = pipeline.models if pipeline is not None else {}
        self._open: tuple[int, VideoReader, Any] | None = None

    def __call__(self, tasks: Iterable[ClipTask]) -> Iterator[ClipOutput]:
        for _vid, group in itertools.groupby(tasks, key=lambda t: t.video.id):
            yield from self._video(group)

    def _media(self, video: VideoRow) -> tuple[VideoReader, Any]:
        if self._open is not None and self._open[0] == video.id:
            return self._open[1], self._open[2]
        self.close()
        reader = VideoReader(video.path, prefetch=0)
        audio = None
        try:
            if video.has_audio and self.pipeline is not None:
                audio = load_audio(video.path, self.pipeline.audio_rate, mono=True)
        except NoAudioError:
            audio = None
        except BaseException:
            reader.close()
            raise
        self._open = (video.id, reader, audio)
        return reader, audio

    def _video(self, tasks: Iterator[ClipTask]) -> Iterator[ClipOutput]:
        first = next(tasks)
        video = first.video
        reader, audio = self._media(video)
        shape = (reader.info.height, reader.info.width)
        tasks = itertools.chain([first], tasks)
        if audio is None or self.pipeline is None:
            for t in tasks:
                frames, result = silent_clip(list(t.frames))
                yield ClipOutput.pack(merge_by_phrase(frames, shape), shape, result, self.models)
            return
        rate = video.keyframe_rate or 1.0
        pending: deque[ClipTask] = deque()
        broken: list[BaseException] = []

        def spans(indices: Sequence[int]) -> list[tuple[float, float]]:
            return [audio_span(float(reader.frame_times[i]), rate) for i in indices]

        def clips() -> Iterator[Clip]:
            for t in tasks:
                try:
                    images = [reader.frame(i) for i in t.frames]
                except Exception as exc:  # this clip fails once the clips before it are answered
                    broken.append(exc)
                    return
                pending.append(t)
                yield Clip(images, list(t.frames), spans(t.frames), audio, key=f"video:{video.id}")

        proposals = self.pipeline.run_many(clips())
        try:
            for proposal in proposals:
                t = pending.popleft()
                indices = list(t.frames)
                result = clip_result(proposal, indices, spans(indices), t.label)
                yield ClipOutput.pack(merge_by_phrase(proposal.frames, shape), shape, result, self.models)
        finally:
            proposals.close()
        if broken:
            raise broken[0]

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None


# ---------------------------------------------------------------- work: student


@dataclass(frozen=True)
class StudentWork:
    """Load the student model file once per worker; predict each clip's keyframes in one batch."""

    engine: str
    model_path: str
    threshold: float = 0.5
    device: str = "auto"
    batch_size: int = 32
    cache_dir: str | None = None

    def build(self) -> StudentClips:
        return StudentClips(self)


class StudentClips:
    def __init__(self, work: StudentWork):
        from avs_studio.jobs.propose_student import StudentPredictor  # torch, in the worker only

        self.work = work
        cache = Path(work.cache_dir) if work.cache_dir else None
        self.student = StudentPredictor.from_file(
            Path(work.model_path), work.engine, work.device, work.batch_size, cache
        )
        self.models = {"student": work.model_path}

    def __call__(self, tasks: Iterable[ClipTask]) -> Iterator[ClipOutput]:
        from avs_studio.jobs.propose_student import frame_proposal

        for t in tasks:
            indices = list(t.frames)
            probs = self.student.probabilities(t.video, indices, full_size=False)
            shape = (t.video.height, t.video.width)
            frames: list[FrameProposal] = [
                frame_proposal(i, p, shape, self.work.threshold) for i, p in zip(indices, probs)
            ]
            scores = [f.objects[0].box_score if f.objects else None for f in frames]
            result = {"engine": self.work.engine, "frames": indices, "scores": scores}
            yield ClipOutput.pack(merge_by_phrase(frames, shape), shape, result, self.models)


# ---------------------------------------------------------------- driver


class ProposalWriter:
    """Stores each clip on the driver; the pipeline run starts with the first clip (the models that
    ran are the worker's)."""

    def __init__(
        self, project: Project, report: ProposeReport, config: dict[str, Any], author: str, source: str
    ):
        self.project, self.report, self.config = project, report, config
        self.author, self.source = author, source
        self.fingerprint = config["fingerprint"]
        self.run_id: int | None = None
        self.videos: set[int] = set()
        # silent video -> (its name, keyframes given explicit empty proposals)
        self.silent: dict[int, tuple[str, int]] = {}

    def start(self, models: dict[str, str]) -> int:
        if self.run_id is None:
            self.run_id = self.project.store.start_pipeline_run(self.report.engine, self.config, models)
            self.report.run_id = self.run_id
        return self.run_id

    def __call__(self, task: ClipTask, out: ClipOutput) -> None:
        run_id = self.start(out.models)
        video = task.video
        counts = self.project.store.replace_proposals(
            video.id, out.unpack(), out.shape, run_id=run_id,
            result={**out.result, "fingerprint": self.fingerprint}, author=self.author, source=self.source,
        )  # fmt: skip
        self.report.add_clip(counts)
        if out.result.get("translation"):
            label = f"video {video.id} ({video.name})"
            count_translation(self.report, label, list(task.frames), out.result["translation"])
        if video.id not in self.videos:
            self.videos.add(video.id)
            self.report.videos += 1
        if out.result.get("no_audio"):
            self.silent[video.id] = (video.name, self.silent.get(video.id, ("", 0))[1] + len(task.frames))

    def finish(self) -> None:
        for vid, (name, n) in self.silent.items():
            self.report.warnings.append(
                f"video {vid} ({name}) has no audio: its {n} keyframes got explicit empty proposals"
            )


def stored_clips(project: Project, videos: Sequence[VideoRow], fp: str) -> set[tuple[int, tuple[int, ...]]]:
    """(video id, frames) of the clips whose newest stored result has fingerprint ``fp``."""
    done: set[tuple[int, tuple[int, ...]]] = set()
    for v in videos:
        newest: dict[tuple[int, ...], Any] = {}
        for c in project.store.clip_results(v.id):  # id order: the newest wins
            newest[tuple(c.frames)] = (c.result or {}).get("fingerprint")
        done.update((v.id, frames) for frames, f in newest.items() if f == fp)
    return done


def _engine_setup(
    project: Project, kind: str, name: str, config: Any, device: str
) -> tuple[str, Any, int, dict[str, Any], str, str]:
    """(engine id, work, clip length, config for provenance, author, source) of an engine."""
    if kind == "student":
        from avs_studio.jobs import propose_student

        model, path = propose_student.load_project_student(project, name, "cpu")
        engine = f"{propose_student.SOURCE}:{name}"
        digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        cfg = {"model": name, "path": str(path), "sha256": digest, "threshold": 0.5,
               "model_config": model.config.to_dict()}  # fmt: skip
        work = StudentWork(engine, str(path), 0.5, device, cache_dir=str(project.dir / "cache" / "training"))
        return engine, work, clip_length(), cfg, engine, propose_student.SOURCE
    if isinstance(config, Pipeline):
        config = config.config
    source = name or config
    pipeline = source if isinstance(source, PipelineConfig) else load_config(source, llm=llm_settings(project))
    engine = openavs_engine_id(pipeline)
    return engine, OpenAVSWork(pipeline, device), clip_length(pipeline), pipeline.to_dict(), engine, SOURCE


def propose_batch(
    project: Project,
    kind: str,
    name: str = "",
    *,
    config: Any = None,
    executor: ExecutorOptions | str | None = None,
    resume: bool = False,
    video_ids: Sequence[int] | None = None,
    split: str | None = None,
    device: str = "auto",
    frames: Sequence[int] | None = None,
    progress: Progress | None = None,
    cancel: Any = None,
) -> ProposeReport:
    """Propose with engine ``kind`` ("openavs" with ``config``, or "student" ``name``) through
    ``executor`` (ExecutorOptions, "local" or "ray"; None = local). See the module docstring."""
    options = executor if isinstance(executor, ExecutorOptions) else ExecutorOptions(kind=executor or "local")
    if kind not in ("openavs", "student"):
        raise ProposeError(f"unknown engine {kind!r}; use 'openavs' or 'student:NAME'")
    started = time.perf_counter()
    videos = select_videos(project, video_ids, split)
    engine, work, size, cfg, author, source = _engine_setup(project, kind, name, config, device)
    plan = plan_clips(videos, size, frames)
    if isinstance(work, OpenAVSWork) and not any(v.has_audio for v, _ in plan):
        work = OpenAVSWork(work.config, work.device, needs_pipeline=False)
    fp = fingerprint(engine, cfg)
    report = ProposeReport(engine=engine)
    tasks = [ClipTask(v, tuple(c)) for v, clips in plan for c in clips]
    done = stored_clips(project, [v for v, _ in plan], fp) if resume else set()
    todo = [t for t in tasks if (t.video.id, t.frames) not in done]
    report.execution = {"executor": options.kind, "fingerprint": fp, "already_stored": len(tasks) - len(todo)}
    if progress:
        skipped = f", {len(tasks) - len(todo)} already stored with this configuration" if done else ""
        progress(0, len(todo), f"proposing {len(todo)} clips of {len(plan)} videos with {engine}{skipped}")
    writer = ProposalWriter(project, report, {**cfg, "fingerprint": fp}, author, source)
    status = "failed"
    stats = None
    try:
        stats = run_clips(todo, work, writer, options, progress=progress, cancel=cancel)
        report.cancelled = stats.cancelled
        report.errors.extend(str(f) for f in stats.failed)
        status = "cancelled" if stats.cancelled else "done"
    finally:
        writer.finish()
        report.timings["total"] = time.perf_counter() - started
        if stats is not None:
            report.execution.update(stats.as_dict())
        if todo and (writer.run_id is not None or status != "done"):
            run_id = writer.start({})
            project.store.finish_pipeline_run(
                run_id, status, {**report.timings, **_numbers(report.execution)}
            )
    return report


def _numbers(d: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in d.items() if isinstance(v, int | float) and not isinstance(v, bool)}
