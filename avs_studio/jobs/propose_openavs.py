"""The OpenAVS engine in this process: the pipeline proposes each video's clips in turn, the next clips'
LLM prompts in flight while earlier clips are stored (avs_studio.jobs.propose runs it as engine "openavs";
the executors of propose_batch run the same pipeline clip by clip elsewhere)."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from avs_studio.jobs.clips import clip_length
from avs_studio.jobs.engine import openavs_engine_id
from avs_studio.jobs.project import Project
from avs_studio.jobs.propose import (
    OnClip,
    ProposeReport,
    audio_span,
    clip_result,
    count_translation,
    llm_settings,
    plan_clips,
    propose_clips,
    run_plan,
    select_videos,
    silent_clip,
)
from avs_studio.media import AudioTrack, MediaError, NoAudioError, VideoReader, load_audio
from avs_studio.openavs import Clip, FrameProposal, Pipeline, PipelineConfig, load_config
from avs_studio.openavs.pipeline import Cancelled
from avs_studio.progress import Progress
from avs_studio.store import VideoRow


def propose_openavs(
    project: Project,
    *,
    video_ids: Sequence[int] | None,
    config: PipelineConfig | Pipeline | str | Path | None,
    split: str | None,
    device: str,
    progress: Progress | None,
    cancel: Any,
    on_clip: OnClip | None,
    frames: Sequence[int] | None = None,
) -> ProposeReport:
    videos = select_videos(project, video_ids, split)
    started = time.perf_counter()
    if isinstance(config, Pipeline):
        pipeline: Pipeline | None = config
        cfg = config.config
    else:
        cfg = config if isinstance(config, PipelineConfig) else load_config(config, llm=llm_settings(project))
        pipeline = None
    report = ProposeReport(engine=openavs_engine_id(cfg))
    clip_size = clip_length(cfg)
    plan = plan_clips(videos, clip_size, frames)
    if pipeline is None and any(v.has_audio for v, _ in plan):
        pipeline = Pipeline.from_config(cfg, device=device)
    models = pipeline.models if pipeline is not None else {}
    config_dict = cfg.to_dict() if cfg is not None else {}

    def propose_video(video: VideoRow, clips: list[list[int]], done: int, total: int) -> int:
        report.videos += 1
        return _propose_video(project, video, clips, pipeline, report, cancel, on_clip, progress, done, total)

    return run_plan(
        project, report, plan, propose_video, config=config_dict, models=models, started=started,
        progress=progress, cancel=cancel,
    )  # fmt: skip


def _propose_video(
    project: Project,
    video: VideoRow,
    clips: list[list[int]],
    pipeline: Pipeline | None,
    report: ProposeReport,
    cancel: Any,
    on_clip: OnClip | None,
    progress: Progress | None,
    done: int,
    total: int,
) -> int:
    """Propose one video's clips; returns how many clips were handled."""
    label = f"video {video.id} ({video.name})"
    try:
        reader = VideoReader(video.path, prefetch=0)
    except MediaError as exc:
        report.errors.append(f"{label}: {exc}")
        return len(clips)
    with reader:
        audio = None
        if video.has_audio and pipeline is not None:
            try:
                audio = load_audio(video.path, pipeline.audio_rate, mono=True)
            except NoAudioError:
                audio = None
            except MediaError as exc:
                report.errors.append(f"{label}: {exc}")
                return len(clips)
        if audio is None:
            report.warnings.append(
                f"{label} has no audio: its {sum(len(c) for c in clips)} keyframes got explicit empty proposals"
            )

        rate = video.keyframe_rate or 1.0

        def spans_of(indices: list[int]) -> list[tuple[float, float]]:
            return [audio_span(float(reader.frame_times[i]), rate) for i in indices]

        def clip_stream(track: AudioTrack) -> Iterator[Clip]:
            for indices in clips:
                try:
                    images = [reader.frame(i) for i in indices]
                except MediaError as exc:  # a damaged stretch: report it, keep the clips already stored
                    report.errors.append(f"{label}: frames {indices[0]}-{indices[-1]}: {exc}")
                    return
                yield Clip(images, list(indices), spans_of(indices), track, key=f"video:{video.id}")

        # the pipeline runs ahead (the next clips' LLM prompts in flight) while earlier clips are stored
        proposals = None
        if audio is not None and pipeline is not None:
            proposals = pipeline.run_many(clip_stream(audio), cancel=cancel)

        def make_clip(indices: list[int]) -> tuple[list[FrameProposal], dict[str, Any]] | None:
            if proposals is None:
                return silent_clip(indices)
            try:
                proposal = next(proposals, None)
            except Cancelled:
                return None
            if proposal is None:  # the frames could not be decoded (reported) from here on
                return None
            count_translation(report, label, indices, proposal.translation)
            return proposal.frames, clip_result(proposal, indices, spans_of(indices), label)

        shape = (reader.info.height, reader.info.width)
        try:
            return propose_clips(
                project, report, video, clips, make_clip, shape, done=done, total=total, progress=progress,
                cancel=cancel, on_clip=on_clip, timing="clips", author=report.engine,
            )  # fmt: skip
        finally:
            if proposals is not None:
                proposals.close()  # abandon what ran ahead (cancelled, or a clip failed)
