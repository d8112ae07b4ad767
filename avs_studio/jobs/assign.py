"""Annotators at scale: assign videos to annotators, "my queue", who else holds a clip, progress per
annotator. Qt-free: the CLI (`assign`, `unassign`, `status --by-annotator`) and the GUI call these.

A video is given to at most one annotator (``Store.assignments``). A keyframe counts as reviewed when it
has annotations and none of them is still proposed (accepted, rejected or edited by a person). An
assignment only orders and warns: it never stops anyone from editing (conflicts stay explicit, as the
store's versions make them); ``assigned_elsewhere`` is what the editor asks before a person edits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from avs_studio.jobs.project import Project, keyframes
from avs_studio.media import MediaError
from avs_studio.store import ReviewCounts, VideoRow

UNASSIGNED = "(unassigned)"


class AssignError(ValueError):
    """The assign/unassign request does not say which videos, or says it twice; names what to give."""


@dataclass(frozen=True)
class QueueItem:
    video: VideoRow
    annotator: str | None  # None = unassigned
    keyframes: int
    reviewed: int  # keyframes with annotations, none still proposed
    pending: int  # keyframes with a proposal still to review

    @property
    def done(self) -> bool:
        return self.keyframes > 0 and self.reviewed >= self.keyframes


@dataclass(frozen=True)
class AnnotatorStatus:
    annotator: str  # UNASSIGNED for the videos nobody has
    videos: int
    done_videos: int
    keyframes: int
    reviewed: int
    pending: int
    video_ids: tuple[int, ...]

    @property
    def percent(self) -> float:
        return 100.0 * self.reviewed / self.keyframes if self.keyframes else 0.0


def assign(
    project: Project,
    annotator: str,
    *,
    video_ids: Sequence[int] | None = None,
    split: str | None = None,
    count: int | None = None,
    replace: bool = False,
) -> list[int]:
    """Give videos to ``annotator``: ``video_ids`` (those, even if assigned elsewhere with ``replace``),
    else the first ``count`` unassigned videos (of ``split``), else every unassigned video of ``split``.
    Returns the video ids newly given. AssignedElsewhere (a StoreError) names videos someone else has."""
    if video_ids:
        if split is not None or count is not None:
            raise AssignError("give either --video, or --split and/or --count, not both")
        return project.store.assignments.assign(annotator, video_ids, replace=replace)
    if count is None and split is None:
        raise AssignError("say which videos: --video ID (repeatable), --split SPLIT and/or --count N")
    if count is None:
        count = len(project.store.videos(split)) or 1
    return project.store.assignments.assign_next(annotator, count, split)


def unassign(
    project: Project, *, video_ids: Sequence[int] | None = None, annotator: str | None = None
) -> int:
    """Take videos back (``video_ids``, or all of ``annotator``); returns how many were released."""
    if not video_ids and annotator is None:
        raise AssignError("say which videos to release: --video ID (repeatable) or --from NAME")
    return project.store.assignments.release(video_ids or None, annotator)


def _keyframe_count(video: VideoRow) -> int:
    try:
        return len(keyframes(video))
    except (MediaError, OSError):  # a variable-frame-rate video whose file is missing
        rate = video.keyframe_rate or 1.0
        return max(1, int(video.duration * rate + 0.999))


def queue(project: Project, annotator: str | None = None) -> list[QueueItem]:
    """Every video in the order an annotator works: their own unfinished videos first, then unassigned
    ones, then their finished ones, then those of others (id order within each). ``annotator`` defaults
    to the store's author (the person at the keyboard)."""
    me = annotator or project.store.author
    owners = {a.video_id: a.annotator for a in project.store.assignments.rows()}
    counts = project.store.assignments.review_counts()
    items = []
    for v in project.store.videos():
        c = counts.get(v.id, ReviewCounts())
        items.append(QueueItem(v, owners.get(v.id), _keyframe_count(v), c.reviewed, c.pending))

    return sorted(items, key=lambda i: queue_rank(i.annotator, i.done, i.video.id, me))


def queue_rank(annotator: str | None, done: bool, video_id: int, me: str) -> tuple[int, int]:
    """Where a video goes in ``me``'s queue: their unfinished videos, unassigned ones, their finished
    ones, then those of others (id order within each); the GUI's video list sorts by it too."""
    if annotator == me:
        return (2 if done else 0, video_id)
    return (1 if annotator is None else 3, video_id)


def my_queue(
    project: Project, annotator: str | None = None, *, include_done: bool = False
) -> list[QueueItem]:
    """The videos assigned to ``annotator`` (default: the store's author), unfinished first."""
    me = annotator or project.store.author
    return [i for i in queue(project, me) if i.annotator == me and (include_done or not i.done)]


def assigned_elsewhere(project: Project, video_id: int, annotator: str | None = None) -> str | None:
    """The annotator another than ``annotator`` (default: the store's author) who has this video, or
    None (unassigned, or theirs): what the editor warns about before a person edits the clip."""
    row = project.store.assignments.of_video(video_id)
    me = annotator or project.store.author
    return row.annotator if row is not None and row.annotator != me else None


def by_annotator(project: Project) -> list[AnnotatorStatus]:
    """Progress per annotator (name order), then the unassigned videos."""
    groups: dict[str, list[QueueItem]] = {}
    for item in queue(project, UNASSIGNED):
        groups.setdefault(item.annotator or UNASSIGNED, []).append(item)
    order = sorted(k for k in groups if k != UNASSIGNED) + ([UNASSIGNED] if UNASSIGNED in groups else [])
    return [
        AnnotatorStatus(
            name,
            len(groups[name]),
            sum(i.done for i in groups[name]),
            sum(i.keyframes for i in groups[name]),
            sum(i.reviewed for i in groups[name]),
            sum(i.pending for i in groups[name]),
            tuple(sorted(i.video.id for i in groups[name])),
        )
        for name in order
    ]
