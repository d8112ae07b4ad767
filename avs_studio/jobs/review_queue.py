"""Active review queue: the unreviewed keyframes a person should look at first (`avs-studio queue`).

Once a student exists, every keyframe nobody has reviewed or edited yet (all its annotations, if any,
still "proposed") gets two signals, both in [0, 1], computed at the student's input size:

- disagreement = 1 - IoU between the teacher's stored proposal (the union of the frame's proposals made
  by an OpenAVS run) and the student's mask (probability > 0.5); two empty masks agree (0). None when
  the frame holds no OpenAVS proposal to compare.
- uncertainty = the student's mean binary entropy (bits) over the pixels it gives more than 5 %
  (0 when there are none: it is sure nothing sounds).

score = the mean of the signals present; the queue is sorted by score, highest first (ties: video id,
frame). ``review_queue`` runs the student (a job: progress, cancel); ``next_in_queue`` walks the ranking
and skips what people have reviewed since (the GUI's "Next most uncertain").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from avs_studio.jobs.engine import KINDS, proposal_engine, student_path
from avs_studio.jobs.project import Project, keyframes
from avs_studio.jobs.propose import select_videos
from avs_studio.masks import decode, resize_mask
from avs_studio.media import MediaError
from avs_studio.progress import Progress

PROPOSED = "proposed"
TEACHER = KINDS[0]  # runs of this engine kind are the teacher: OpenAVS
THRESHOLD = 0.5  # the student's mask, as its proposals (propose_student.frame_proposal's default)
CANDIDATE = 0.05  # pixels the student gives more than this count for its uncertainty


class QueueError(Exception):
    """No queue can be built (no student yet, or its model cannot be read); names what to do."""


@dataclass(frozen=True)
class QueueItem:
    video_id: int
    video: str
    frame: int
    time: float  # seconds from the video's start (frame / fps)
    score: float
    disagreement: float | None  # None: no OpenAVS proposal on this frame
    uncertainty: float
    teacher: str | None  # the engine of the compared proposal, e.g. "openavs:default"


@dataclass
class ReviewQueue:
    student: str  # "student:NAME"
    items: list[QueueItem] = field(default_factory=list)
    unreviewed: int = 0  # keyframes scored (before any limit)
    errors: list[str] = field(default_factory=list)  # videos that could not be read
    cancelled: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def frame_scores(probs: np.ndarray, teacher: np.ndarray | None) -> tuple[float | None, float]:
    """(disagreement, uncertainty) of one frame: the student's (S, S) probabilities and the teacher's
    mask at the same size (None: no teacher proposal)."""
    p = np.asarray(probs, np.float64)
    candidates = p[p > CANDIDATE]
    uncertainty = 0.0
    if candidates.size:
        q = np.clip(candidates, 1e-12, 1 - 1e-12)
        uncertainty = float(np.mean(-(q * np.log2(q) + (1 - q) * np.log2(1 - q))))
    if teacher is None:
        return None, uncertainty
    mine, theirs = p > THRESHOLD, np.asarray(teacher, bool)
    union = int(np.count_nonzero(mine | theirs))
    iou = 1.0 if union == 0 else np.count_nonzero(mine & theirs) / union
    return 1.0 - float(iou), uncertainty


def score(disagreement: float | None, uncertainty: float) -> float:
    return uncertainty if disagreement is None else (disagreement + uncertainty) / 2


def is_unreviewed(rows: Sequence[Any]) -> bool:
    """No person has reviewed or edited the frame: every annotation (if any) is still a proposal."""
    return all(r.status == PROPOSED for r in rows)


def queue_student(project: Project, name: str | None = None) -> str:
    """The student whose queue it is: ``name``; else the project's proposal engine when a student; else
    the newest finished student. QueueError when there is none."""
    if name:
        return name
    engine = proposal_engine(project)
    if engine.kind == "student":
        return engine.name
    runs = [r for r in project.store.training_runs() if r.status == "done"]
    runs.sort(key=lambda r: (r.finished_at is not None, r.finished_at, r.id), reverse=True)
    for run in runs:
        try:
            if student_path(project, run.name).is_file():
                return run.name
        except ValueError:
            continue
    raise QueueError(
        f"no student model in {project.dir} yet: the review queue needs one; train it with "
        f"`avs-studio train {project.dir} --name NAME`"
    )


def _teacher_masks(rows: Sequence[Any], runs: dict[int, str]) -> dict[int, tuple[np.ndarray, str]]:
    """frame -> (union of its proposals made by an OpenAVS run, that run's engine), from ``rows``."""
    out: dict[int, tuple[np.ndarray, str]] = {}
    for r in rows:
        engine = runs.get(r.run_id) if r.run_id is not None else None
        if r.status != PROPOSED or engine is None or engine.partition(":")[0] != TEACHER:
            continue
        old = out.get(r.frame)
        m = decode(r.rle).astype(bool)
        out[r.frame] = (m if old is None else old[0] | m, engine)
    return out


def _items(
    video: Any, frames: list[int], probs: np.ndarray, rows: Sequence[Any], runs: dict[int, str]
) -> list[QueueItem]:
    wanted = set(frames)
    teachers = _teacher_masks([r for r in rows if r.frame in wanted], runs)
    out = []
    for f, p in zip(frames, probs):
        teacher = teachers.get(f)
        d, u = frame_scores(p, None if teacher is None else resize_mask(teacher[0], p.shape))
        engine = None if teacher is None else teacher[1]
        out.append(
            QueueItem(video.id, video.name, f, round(f / (video.fps or 1.0), 3), score(d, u), d, u, engine)
        )
    return out


def review_queue(
    project: Project,
    student: str | None = None,
    *,
    video_ids: Sequence[int] | None = None,
    split: str | None = None,
    limit: int | None = None,
    device: str = "auto",
    batch_size: int = 32,
    progress: Progress | None = None,
    cancel: Any = None,
) -> ReviewQueue:
    """Rank the unreviewed keyframes of ``video_ids`` (None: every video, or those of ``split``) by the
    student's disagreement with OpenAVS and its uncertainty (module doc); the top ``limit`` are kept.
    Raises QueueError (no student), ProposeError (its model is missing or unreadable)."""
    from avs_studio.jobs.propose_student import StudentPredictor  # torch

    name = queue_student(project, student)
    predictor = StudentPredictor(project, name, device, batch_size)
    queue = ReviewQueue(student=f"student:{name}")
    runs = {r.id: r.engine for r in project.store.pipeline_runs()}
    videos = select_videos(project, video_ids, split)
    items: list[QueueItem] = []
    for n, video in enumerate(videos):
        if cancel is not None and cancel.is_set():
            queue.cancelled = True
            break
        rows = project.store.annotations(video_id=video.id)
        by_frame: dict[int, list[Any]] = defaultdict(list)
        for r in rows:
            by_frame[r.frame].append(r)
        frames = [f for f in keyframes(video) if is_unreviewed(by_frame.get(f, []))]
        if frames:
            try:
                probs = predictor.probabilities(video, frames, full_size=False)
                items += _items(video, frames, probs, rows, runs)
            except MediaError as exc:
                queue.errors.append(f"video {video.id} ({video.name}): {exc}")
        if progress:
            progress(
                n + 1, len(videos), f"video {video.id} ({video.name}): {len(frames)} unreviewed keyframes"
            )
    items.sort(key=lambda i: (-i.score, i.video_id, i.frame))
    queue.unreviewed = len(items)
    queue.items = items if limit is None else items[: max(0, limit)]
    return queue


def next_in_queue(
    project: Project, queue: ReviewQueue, after: tuple[int, int] | None = None
) -> QueueItem | None:
    """The first item of ``queue`` after ``after`` = (video id, frame), wrapping around (None or not in
    the queue: from the top), that nobody has reviewed or edited since; None when none is left."""
    keys = [(i.video_id, i.frame) for i in queue.items]
    start = keys.index(after) + 1 if after in keys else 0
    for item in queue.items[start:] + queue.items[:start]:
        if (item.video_id, item.frame) == after:
            continue
        if is_unreviewed(project.store.annotations(video_id=item.video_id, frame=item.frame)):
            return item
    return None
