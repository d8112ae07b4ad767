"""Review: what counts as reviewed (one rule for ticks, badges, N and the project list) and the review
use cases the GUI and the CLI share: accept a clip, copy the previous keyframe's masks.

Each use case is one store group: one transaction and one undo step.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from avs_studio.jobs.clips import clip_length, clip_of
from avs_studio.jobs.editing import unseen
from avs_studio.jobs.project import Project, keyframes
from avs_studio.store import AnnotationRow

STATES = ("unprocessed", "proposed", "edited", "accepted", "rejected")  # of a keyframe
NEEDS_REVIEW = ("unprocessed", "proposed", "edited")
REVIEWED = ("accepted", "rejected")
TO_ACCEPT = ("proposed", "edited")  # what Shift+A accepts


class Marked(Protocol):
    """What a frame's state needs of an annotation (an AnnotationRow, or a lighter tuple)."""

    @property
    def frame(self) -> int: ...

    @property
    def status(self) -> str: ...


def frame_state(rows: Iterable[Marked]) -> str:
    """One state for a frame: the least finished status of its annotations wins."""
    return state_of({r.status for r in rows})


def state_of(statuses: Iterable[str]) -> str:
    """``frame_state`` from the set of statuses of a frame's annotations (``propagate.frames_with_masks``)."""
    seen = set(statuses)
    if not seen:
        return "unprocessed"
    if "edited" in seen:
        return "edited"
    if "proposed" in seen:
        return "proposed"
    return "rejected" if seen == {"rejected"} else "accepted"


def keyframe_states(keyframe_list: Sequence[int], rows: Iterable[Marked]) -> list[str]:
    frames: dict[int, list[Marked]] = defaultdict(list)
    for r in rows:
        frames[r.frame].append(r)
    return [frame_state(frames.get(k, [])) for k in keyframe_list]


def next_needing_review(keyframe_list: Sequence[int], states: Sequence[str], current: int) -> int | None:
    """The first keyframe after ``current`` that needs a look, wrapping around; None when all are done."""
    order = [i for i, k in enumerate(keyframe_list) if k > current]
    order += [i for i, k in enumerate(keyframe_list) if k <= current]
    for i in order:
        if states[i] in NEEDS_REVIEW:
            return keyframe_list[i]
    return None


def review_progress(states: Sequence[str]) -> float:
    """Fraction of keyframes reviewed (accepted or rejected)."""
    return sum(s in REVIEWED for s in states) / len(states) if states else 0.0


@dataclass(frozen=True)
class AcceptReport:
    first: int  # the clip's frames: [first, end)
    end: int
    accepted: int  # masks accepted


def accept_clip(
    project: Project,
    video_id: int,
    frame: int,
    *,
    clip_keyframes: int | None = None,
    keyframe_list: Sequence[int] | None = None,
    seen: Mapping[int, int] | None = None,
) -> AcceptReport:
    """Accept every proposed or edited mask of the clip holding ``frame``, as one undo step.

    ``clip_keyframes``: keyframes per clip (default: the default profile's); ``keyframe_list``: the
    video's keyframes when the caller has them. ``seen``: {annotation id: version} as the person last
    saw them; a mask another author stored or changed since raises ConflictError (nothing accepted),
    as does a mask changed by someone else while this runs.
    """
    store = project.store
    video = store.video(video_id)
    kf = keyframes(video) if keyframe_list is None else keyframe_list
    size = clip_length() if clip_keyframes is None else clip_keyframes
    first, end = clip_of(kf, frame, size, video.frame_count)
    rows = [r for r in store.annotations(video_id=video_id, status=TO_ACCEPT) if first <= r.frame < end]
    if seen is not None:
        unseen(store, rows, seen, "clip acceptance")
    if rows:
        with store.group():
            for r in rows:
                store.set_status(r.id, "accepted", expected_version=r.version)
    return AcceptReport(first, end, len(rows))


@dataclass(frozen=True)
class CopyReport:
    source: int | None  # the keyframe copied from (None: no keyframe before the frame)
    copied: int  # masks written


def copy_previous_keyframe(
    project: Project,
    video_id: int,
    frame: int,
    *,
    keyframe_list: Sequence[int] | None = None,
    seen: Mapping[int | None, AnnotationRow] | None = None,
) -> CopyReport:
    """Copy every object's mask of the keyframe before ``frame`` onto ``frame`` (status "edited", source
    "manual"), replacing that object's mask there; locked objects are left alone. One undo step.

    ``seen``: the rows of ``frame`` the person saw (default: as stored now); a mask another author
    stored or changed there since raises ConflictError and nothing is copied."""
    store = project.store
    kf = keyframes(store.video(video_id)) if keyframe_list is None else keyframe_list
    i = bisect.bisect_left(kf, frame) - 1
    if i < 0:
        return CopyReport(None, 0)
    source = kf[i]
    locked = {o.id for o in store.objects(video_id) if o.locked}
    rows = [
        r
        for r in store.annotations(video_id=video_id, frame=source)
        if r.object_id is not None and r.object_id not in locked
    ]
    if seen is None:
        seen = {r.object_id: r for r in store.annotations(video_id=video_id, frame=frame)}
    if rows:
        with store.group():
            for r in rows:
                old = seen.get(r.object_id)
                guard: dict[str, Any] = (
                    {"expected_version": old.version} if old is not None else {"create_only": True}
                )
                store.put_annotation(
                    video_id, frame, r.object_id, r.rle, source="manual", status="edited", **guard
                )
    return CopyReport(source, len(rows))
