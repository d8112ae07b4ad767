"""Propagation through an executor (local or Ray): a segment (the frames between two anchors) is the
unit of work, stored on the driver as soon as it is done.

The rules of ``avs_studio.jobs.propagate`` hold unchanged (which frames may be written, segment
fingerprints, resume, stale proposals removed); what is added is where a segment is computed: a worker
builds the engine once (``PropagateWork``), gets each segment with its anchors' masks as RLE (the store
stays on the driver), decodes the video itself and sends back the frames' masks as RLE. A segment whose
work fails (a video that cannot be decoded) is retried, then reported while the others are stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from avs_studio import masks
from avs_studio.jobs.executor import ClipTask, ExecutorOptions, run_clips
from avs_studio.jobs.project import Project
from avs_studio.jobs.propagate import (
    OnSegment,
    Plan,
    PropagateReport,
    anchor_masks,
    begin_video,
    segment_fingerprint,
    store_segment,
    stored_segments,
    unchanged,
)
from avs_studio.media import VideoReader
from avs_studio.openavs.propagation import (
    ENGINE_PREFIX,
    FrameResult,
    PropagationConfig,
    Propagator,
    Segment,
    VideoFrames,
    create_engine,
    run_segment,
)
from avs_studio.store import VideoRow

Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class SegmentJob:
    """What travels with a segment's ClipTask: its anchors' masks per object (RLE; empty = absent)."""

    segment: Segment
    left: dict[int, dict[str, Any]]
    right: dict[int, dict[str, Any]]
    reach: int
    fingerprint: str


@dataclass(frozen=True)
class SegmentOutput:
    """A worker's answer for one segment: the frames' masks (RLE), the frame size, the engine as built."""

    results: list[FrameResult]
    shape: tuple[int, int]
    described: dict[str, Any]
    decoded: int
    seconds: float


@dataclass(frozen=True)
class PropagateWork:
    """Build the propagation engine once per worker."""

    engine: str
    device: str
    params: dict[str, Any] = field(default_factory=dict)

    def build(self) -> SegmentRunner:
        return SegmentRunner(create_engine(self.engine, device=self.device, **self.params))


class SegmentRunner:
    """The clip function of propagation: one output per segment; the open video is kept for the next."""

    def __init__(self, engine: Propagator):
        self.engine = engine
        self.described = engine.describe()
        self._open: tuple[int, VideoReader, VideoFrames] | None = None

    def __call__(self, tasks: Iterable[ClipTask]) -> Iterator[SegmentOutput]:
        for task in tasks:
            yield self._one(task)

    def _one(self, task: ClipTask) -> SegmentOutput:
        job: SegmentJob = task.payload
        started = time.perf_counter()
        try:
            reader, frames = self._frames(task.video)
            before = frames.decoded
            results = run_segment(
                self.engine, frames, job.segment, _decode(job.left), _decode(job.right), job.reach
            )
        except Exception:
            self.close()  # a reader in an unknown state is opened again for the next try
            raise
        shape = (reader.info.height, reader.info.width)
        return SegmentOutput(
            results, shape, self.described, frames.decoded - before, time.perf_counter() - started
        )

    def _frames(self, video: VideoRow) -> tuple[VideoReader, VideoFrames]:
        if self._open is None or self._open[0] != video.id:
            self.close()
            reader = VideoReader(video.path, cache_size=2, prefetch=0)
            self._open = (video.id, reader, VideoFrames(reader))
        return self._open[1], self._open[2]

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None


def _decode(rles: dict[int, dict[str, Any]]) -> dict[int, Any]:
    return {k: masks.decode(r) for k, r in rles.items()}


def _encode(
    project: Project, video_id: int, frame: int | None, objects: list[int]
) -> dict[int, dict[str, Any]]:
    return {k: masks.encode(m) for k, m in anchor_masks(project, video_id, frame, objects).items()}


def propagate_batch(
    project: Project,
    plans: Sequence[Plan],
    cfg: PropagationConfig,
    run_config: dict[str, Any],
    force: bool,
    span: tuple[int, int] | None,
    executor: ExecutorOptions | str,
    progress: Progress | None,
    cancel: Any,
    on_segment: OnSegment | None,
) -> PropagateReport:
    """Propagate the planned videos with the executor (called by ``propagate``, which plans them)."""
    options = executor if isinstance(executor, ExecutorOptions) else ExecutorOptions(kind=executor)
    started = time.perf_counter()
    run_config = {**run_config, "engine": cfg.engine}
    report = PropagateReport(engine=ENGINE_PREFIX + cfg.engine, execution={"executor": options.kind})
    whole = span is None and run_config.get("objects") is None
    tasks: list[ClipTask] = []
    by_video: dict[int, Plan] = {}
    for plan in plans:
        report.videos += 1
        vid = plan.video.id
        if not begin_video(project, plan, report, whole):
            continue
        by_video[vid] = plan
        stored = {} if force else stored_segments(project, vid)
        for seg in plan.segments:
            fp = segment_fingerprint(run_config, seg, plan.state, plan.objects)
            if unchanged(fp, stored, plan.state):
                report.unchanged += 1
                continue
            left, right = (_encode(project, vid, a, plan.objects) for a in (seg.left, seg.right))
            job = SegmentJob(seg, left, right, plan.reach, fp)
            tasks.append(ClipTask(plan.video, (seg.first, seg.last), payload=job))
    if progress:
        progress(0, len(tasks), f"propagating {len(tasks)} segments of {len(by_video)} videos with {report.engine} "
                 f"({report.unchanged} unchanged)")  # fmt: skip

    def start(described: dict[str, Any]) -> int:
        if report.run_id is None:
            config = {**run_config, "span": span, "executor": options.kind}
            report.run_id = project.store.start_pipeline_run(report.engine, config, described)
        return report.run_id

    def write(task: ClipTask, out: SegmentOutput) -> None:
        start(out.described)
        plan, job = by_video[task.video.id], task.payload
        store_segment(project, task.video.id, job.segment, out.results, out.shape, plan.state, plan.objects,
                      job.fingerprint, report, whole_objects=run_config.get("objects") is None,
                      on_segment=on_segment)  # fmt: skip
        report.segments += 1
        report.timings["segments"] = report.timings.get("segments", 0.0) + out.seconds
        report.timings["decoded_frames"] = report.timings.get("decoded_frames", 0) + out.decoded

    work = PropagateWork(cfg.engine, str(run_config.get("device") or cfg.device), cfg.engine_params())
    status = "failed"
    try:
        stats = run_clips(tasks, work, write, options, progress=progress, cancel=cancel)
        report.execution.update(stats.as_dict())
        report.errors.extend(str(f) for f in stats.failed)
        report.cancelled = stats.cancelled
        status = "cancelled" if stats.cancelled else "done"
    finally:
        report.timings["total"] = time.perf_counter() - started
        project.store.finish_pipeline_run(start({}), status, dict(report.timings))
    return report
