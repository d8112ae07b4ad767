"""Propagate reviewed masks to the frames around them: the use case behind `avs-studio propagate` and the GUI.

Rules (stated here once):
- A frame is REVIEWED (an anchor) when any annotation on it is accepted or edited. On an anchor an object
  has its accepted/edited mask, is absent (no annotation of it there, or the frame's explicit "nothing
  sounds here"), or is unknown there (its annotation is still proposed or was rejected).
- Masks are carried forward and backward from the anchors (``openavs.propagation``) and written as
  proposals, source "propagation", with the engine in the run's provenance (``propagation:flow``).
- A frame is written only when it holds nothing but earlier propagation proposals: reviewed frames and
  frames holding other proposals (OpenAVS, student, imports) are left alone. A re-run replaces its own
  earlier proposals and removes those no segment reaches any more.
- Work is done segment by segment (between two anchors), each stored with a provenance row that records a
  fingerprint of its anchors and settings; a segment whose fingerprint and stored masks are unchanged is
  skipped, so a cancelled or crashed run resumes where it stopped (``force=True`` recomputes).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from avs_studio import settings
from avs_studio.jobs.executor import ExecutorOptions
from avs_studio.jobs.project import Project
from avs_studio.media import MediaError, VideoReader
from avs_studio.openavs.propagation import (
    ENGINE_PREFIX,
    Cancelled,
    FrameResult,
    PropagationConfig,
    Propagator,
    Segment,
    VideoFrames,
    create_engine,
    load_propagation_config,
    plan_segments,
    run_segment,
)
from avs_studio.settings import PROPAGATION_ENGINE
from avs_studio.store import FrameMasks, VideoRow

SOURCE = "propagation"
REVIEWED = ("accepted", "edited")
PROPOSED = "proposed"
RESULT_KIND = "propagation"
CHUNK_BYTES = 64 * 2**20  # masks of one write (one transaction), full size
Progress = Callable[[int, int, str], None]
OnSegment = Callable[[int, list[int]], None]  # (video id, frames written)


class PropagateError(Exception):
    """Propagation cannot start (unknown video or object); names what to fix."""


@dataclass
class PropagateReport:
    engine: str
    run_id: int | None = None
    videos: int = 0
    segments: int = 0  # segments computed and stored
    unchanged: int = 0  # segments skipped: same anchors and settings as their stored result
    frames: int = 0  # frames written
    masks: int = 0  # object masks written
    empty: int = 0  # frames written as "nothing sounds here"
    reviewed_skipped: int = 0  # frames left alone because a person reviewed them
    others_skipped: int = 0  # frames left alone because they hold other proposals
    removed: int = 0  # earlier propagation proposals no segment reaches any more
    cancelled: bool = False
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)  # executor runs: workers, clips/s, retries

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        text = (
            f"{self.engine}: {self.segments} segments of {self.videos} videos propagated, {self.unchanged} "
            f"unchanged; {self.frames} frames written ({self.masks} masks, {self.empty} empty), "
            f"{self.reviewed_skipped} reviewed and {self.others_skipped} otherwise proposed frames left alone"
        )
        if self.removed:
            text += f", {self.removed} stale proposals removed"
        return text + (" (cancelled)" if self.cancelled else "") + f" (run {self.run_id})"


@dataclass
class VideoState:
    """What the store holds for one video, read once before propagating it."""

    anchors: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # frame -> [(id, version)]
    locked: dict[int, str] = field(default_factory=dict)  # frame -> why it is not written
    own: dict[int, dict[int | None, int | None]] = field(default_factory=dict)  # frame -> {object: run}


def _read_state(project: Project, video_id: int) -> VideoState:
    st = VideoState()
    for a in project.store.iter_annotations(video_id=video_id):
        if a.status in REVIEWED:
            st.anchors.setdefault(a.frame, []).append((a.id, a.version))
        if a.status == PROPOSED and a.source == SOURCE:
            st.own.setdefault(a.frame, {})[a.object_id] = a.run_id
        elif a.status != PROPOSED or st.locked.get(a.frame) != "reviewed":
            st.locked[a.frame] = "reviewed" if a.status != PROPOSED else "other"
    for frame in st.anchors:
        st.anchors[frame].sort()
    return st


def anchor_masks(project: Project, video_id: int, frame: int | None, objects: list[int]
                  ) -> dict[int, np.ndarray]:  # fmt: skip
    """Per object: its reviewed mask, an empty mask (absent) or nothing (unknown) on an anchor frame."""
    if frame is None:
        return {}
    rows = project.store.annotations(video_id=video_id, frame=frame)
    if not rows:  # nothing stored there (any more): every object unknown
        return {}
    shape = (rows[0].height, rows[0].width)
    by_object = {r.object_id: r for r in rows}
    out: dict[int, np.ndarray] = {}
    for k in objects:
        r = by_object.get(k)
        if r is None:
            out[k] = np.zeros(shape, bool)  # reviewed frame without this object: absent
        elif r.status in REVIEWED:
            out[k] = r.mask()
    return out


def segment_fingerprint(config: dict[str, Any], seg: Segment, st: VideoState, objects: list[int]) -> str:
    """What makes a stored segment current: its anchors (ids and versions) and the run's settings (the
    device and executor left out: where a segment is computed does not change what is computed)."""
    data = {
        "config": {k: v for k, v in config.items() if k != "device"},
        "objects": objects,
        "segment": [seg.left, seg.right, seg.first, seg.last],
        "left": st.anchors.get(seg.left, []) if seg.left is not None else None,
        "right": st.anchors.get(seg.right, []) if seg.right is not None else None,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32]


def stored_segments(project: Project, video_id: int) -> dict[str, tuple[int, list[int], bool]]:
    """fingerprint -> (run id, frames written, final part seen) of earlier propagation results."""
    out: dict[str, tuple[int, list[int], bool]] = {}
    for c in project.store.clip_results(video_id):
        r = c.result or {}
        if r.get("kind") != RESULT_KIND or not r.get("fingerprint"):
            continue
        fp = r["fingerprint"]
        run, frames, final = out.get(fp, (c.run_id, [], False))
        if run != c.run_id:  # a newer run of the same segment replaces an older one
            frames, final = [], False
        out[fp] = (c.run_id, frames + list(r.get("written", [])), final or bool(r.get("final")))
    return out


def unchanged(fp: str, stored: dict[str, tuple[int, list[int], bool]], st: VideoState) -> bool:
    if fp not in stored:
        return False
    run, frames, final = stored[fp]
    return final and all(f in st.own and set(st.own[f].values()) == {run} for f in frames)


def select_videos(project: Project, video_ids: Sequence[int] | None) -> list[VideoRow]:
    rows = project.store.videos()
    if video_ids is None:
        return rows
    by_id = {v.id: v for v in rows}
    missing = [i for i in video_ids if i not in by_id]
    if missing:
        raise PropagateError(
            f"no video with id {', '.join(map(str, missing))} in {project.dir}; "
            f"known ids: {', '.join(str(i) for i in sorted(by_id)) or 'none'}"
        )
    return [by_id[i] for i in dict.fromkeys(video_ids)]


def propagate(
    project: Project,
    video_ids: Sequence[int] | None = None,
    *,
    engine: str | None = None,
    config: PropagationConfig | str | Path | None = None,
    device: str | None = None,
    objects: Sequence[int] | None = None,
    span: tuple[int, int] | None = None,
    force: bool = False,
    propagator: Propagator | None = None,
    progress: Progress | None = None,
    cancel: Any = None,
    on_segment: OnSegment | None = None,
    executor: ExecutorOptions | str | None = None,
) -> PropagateReport:
    """Carry the reviewed masks of ``video_ids`` (None: every video) to the frames around them.

    ``engine`` ("flow" | "sam2" | "sam3") overrides the config's; ``config``: a PropagationConfig or a
    TOML file (None: defaults; with no engine either, the project's ``propagation_engine``). ``objects``: only these object ids (their masks are replaced, the other
    objects' proposals on the same frames kept). ``span``: (first, last) frame: only the segments that
    overlap it. ``propagator``: an engine already built (the GUI's, models loaded). ``progress(done,
    total, message)`` counts frames; ``cancel.is_set()`` stops between frames (the segment being computed
    is dropped; the segments stored stay and a later run resumes after them). ``on_segment(video_id,
    frames)`` after each stored write. ``executor`` (ExecutorOptions, "local" or "ray"): segments are
    the unit of work of that executor (``avs_studio.jobs.propagate_batch``; progress counts segments and
    cancelling stops between them); None: this thread, with the rules above.
    """
    if engine is None and config is None:
        engine = settings.get(project.store, PROPAGATION_ENGINE)  # the project's choice (default flow)
    cfg = config if isinstance(config, PropagationConfig) else load_propagation_config(config, engine=engine)
    if engine is not None and isinstance(config, PropagationConfig):
        cfg = PropagationConfig(engine, cfg.params, cfg.max_seconds, cfg.device, cfg.source)
    dev = device or cfg.device
    videos = select_videos(project, video_ids)
    plans = [p for p in (_plan(project, v, cfg, objects, span) for v in videos) if p is not None]
    if objects is not None and not plans:
        raise PropagateError(f"no object with id {', '.join(map(str, objects))} in the chosen videos")
    run_config = {**cfg.to_dict(), "device": dev, "objects": sorted(objects) if objects is not None else None}
    if executor is not None:
        from avs_studio.jobs.propagate_batch import propagate_batch

        return propagate_batch(
            project, plans, cfg, run_config, force, span, executor, progress, cancel, on_segment
        )
    started = time.perf_counter()
    prop = propagator or create_engine(cfg.engine, device=dev, **cfg.engine_params())
    report = PropagateReport(engine=ENGINE_PREFIX + prop.name)
    described = prop.describe()
    run_config["engine"] = prop.name
    report.run_id = project.store.start_pipeline_run(report.engine, {**run_config, "span": span}, described)
    status = "failed"
    try:
        total = sum(p.frames for p in plans)
        done = 0
        if progress:
            progress(0, total, f"propagating {len(plans)} videos with {report.engine}")
        for plan in plans:
            if cancel is not None and cancel.is_set():
                break
            report.videos += 1
            done = _propagate_video(
                project, plan, prop, report, run_config, force, span is None, done, total, progress, cancel,
                on_segment,
            )  # fmt: skip
        report.cancelled = cancel is not None and cancel.is_set()
        status = "cancelled" if report.cancelled else "done"
    finally:
        report.timings["total"] = time.perf_counter() - started
        project.store.finish_pipeline_run(report.run_id, status, dict(report.timings))
    return report


@dataclass
class Plan:
    video: VideoRow
    state: VideoState
    objects: list[int]
    segments: list[Segment]
    reach: int
    frames: int  # frames the segments span (progress total)


def _plan(project: Project, video: VideoRow, cfg: PropagationConfig, objects: Sequence[int] | None,
          span: tuple[int, int] | None) -> Plan | None:  # fmt: skip
    ids = [o.id for o in project.store.objects(video.id)]
    if objects is not None:
        unknown = [o for o in objects if o not in ids]
        if len(unknown) == len(objects):
            return None
        ids = [o for o in ids if o in set(objects)]
    state = _read_state(project, video.id)
    reach = max(1, int(round(cfg.max_seconds * (video.fps or 1.0))))
    segments = plan_segments(list(state.anchors), video.frame_count, reach)
    if span is not None:
        lo, hi = span
        segments = [s for s in segments if s.last >= lo and s.first <= hi]
    return Plan(video, state, ids, segments, reach, sum(s.last - s.first + 1 for s in segments))


def _remove(project: Project, video_id: int, frames: list[int], report: PropagateReport) -> None:
    if frames:
        report.removed += project.store.delete_proposals(video_id, frames, source=SOURCE)


def begin_video(project: Project, plan: Plan, report: PropagateReport, whole: bool) -> bool:
    """Before a video's segments: earlier proposals no segment reaches now are removed (``whole``: all
    objects over the whole video); False when it has no segment (a warning when it has no anchor)."""
    if whole:
        covered = {f for s in plan.segments for f in range(s.first, s.last + 1)}
        _remove(project, plan.video.id, sorted(f for f in plan.state.own if f not in covered), report)
    if not plan.segments and not plan.state.anchors:
        report.warnings.append(
            f"video {plan.video.id} ({plan.video.name}): no reviewed frame to propagate from"
        )
    return bool(plan.segments)


def _propagate_video(
    project: Project,
    plan: Plan,
    prop: Propagator,
    report: PropagateReport,
    config: dict[str, Any],
    force: bool,
    whole_video: bool,
    done: int,
    total: int,
    progress: Progress | None,
    cancel: Any,
    on_segment: OnSegment | None,
) -> int:
    video, st = plan.video, plan.state
    label = f"video {video.id} ({video.name})"
    if not begin_video(project, plan, report, whole_video and config.get("objects") is None):
        return done
    try:
        reader = VideoReader(video.path, cache_size=2, prefetch=0)
    except MediaError as exc:
        report.errors.append(f"{label}: {exc}")
        return done + plan.frames
    stored = {} if force else stored_segments(project, video.id)
    with reader:
        frames = VideoFrames(reader)
        shape = (reader.info.height, reader.info.width)
        for seg in plan.segments:
            if cancel is not None and cancel.is_set():
                break
            fp = segment_fingerprint(config, seg, st, plan.objects)
            n = seg.last - seg.first + 1
            if unchanged(fp, stored, st):
                report.unchanged += 1
            else:
                t0 = time.perf_counter()
                left = anchor_masks(project, video.id, seg.left, plan.objects)
                right = anchor_masks(project, video.id, seg.right, plan.objects)
                try:
                    results = run_segment(prop, frames, seg, left, right, plan.reach, cancel)
                except Cancelled:
                    break
                except (MediaError, IndexError) as exc:
                    report.errors.append(f"{label}: frames {seg.first}-{seg.last}: {exc}")
                    break
                store_segment(project, video.id, seg, results, shape, st, plan.objects, fp,
                               report, whole_objects=config.get("objects") is None, on_segment=on_segment)  # fmt: skip
                report.segments += 1
                report.timings["segments"] = report.timings.get("segments", 0.0) + time.perf_counter() - t0
            done += n
            if progress:
                progress(done, total, f"{label}: frames {seg.first}-{seg.last}")
    report.timings["decoded_frames"] = report.timings.get("decoded_frames", 0) + frames.decoded
    return done


def store_segment(
    project: Project,
    video_id: int,
    seg: Segment,
    results: list[FrameResult],
    shape: tuple[int, int],
    st: VideoState,
    objects: list[int],
    fp: str,
    report: PropagateReport,
    *,
    whole_objects: bool,
    on_segment: OnSegment | None,
) -> None:
    """Write the segment's results in chunks (one transaction each); the last chunk's provenance row
    marks the segment complete."""
    writable = []
    for r in results:
        why = st.locked.get(r.frame)
        if why == "reviewed" or r.frame in st.anchors:
            report.reviewed_skipped += 1
        elif why == "other":
            report.others_skipped += 1
        else:
            writable.append(r)
    got = {r.frame for r in writable}
    stale = [f for f in range(seg.first, seg.last + 1) if f in st.own and f not in got]
    if whole_objects:
        _remove(project, video_id, stale, report)
    per_frame = max(1, len(objects)) * shape[0] * shape[1]
    size = max(1, CHUNK_BYTES // per_frame)
    chunks = [writable[i : i + size] for i in range(0, len(writable), size)] or [[]]
    for part, chunk in enumerate(chunks):
        items = [FrameMasks(r.frame, _objects_of(project, video_id, r, objects, whole_objects))
                 for r in chunk]  # fmt: skip
        written = [r.frame for r in chunk]
        result = {
            "kind": RESULT_KIND, "segment": [seg.left, seg.right], "fingerprint": fp, "written": written,
            "part": part, "final": part == len(chunks) - 1,
            "agreement": {str(r.frame): {str(k): round(v, 4) for k, v in r.agreement.items()} for r in chunk},
        }  # fmt: skip
        counts = project.store.replace_proposals(
            video_id, items, shape, run_id=report.run_id, result=result, author="propagation", source=SOURCE
        )
        report.frames += len(counts.written)
        report.masks += counts.annotations
        report.empty += counts.empty
        report.reviewed_skipped += counts.skipped  # reviewed since this run read the video
        for f in counts.written:
            st.own[f] = {None: report.run_id}
        if on_segment is not None and counts.written:
            on_segment(video_id, list(counts.written))


def _objects_of(project: Project, video_id: int, r: FrameResult, objects: list[int], whole: bool
                ) -> list[tuple[str | int, np.ndarray | dict[str, Any], float | None]]:  # fmt: skip
    """The frame's masks by object id (score: the two directions' agreement), plus, when only some
    objects are propagated, the other objects' earlier propagation masks (kept as they were)."""
    out: list[tuple[str | int, np.ndarray | dict[str, Any], float | None]] = [
        (k, rle, r.agreement.get(k)) for k, rle in r.rles.items()
    ]
    if not whole:
        for a in project.store.annotations(video_id=video_id, frame=r.frame, source=SOURCE, status=PROPOSED):
            if a.object_id is not None and a.object_id not in objects:
                out.append((a.object_id, a.rle, a.score))
    return out


def frames_with_masks(project: Project, video_id: int) -> dict[int, set[str]]:
    """Frame -> statuses of its annotations, for a timeline strip that shows which frames have masks."""
    out: dict[int, set[str]] = defaultdict(set)
    for frame, status in project.store.frame_statuses(video_id):
        out[frame].add(status)
    return dict(out)
