"""Which frames a student trains and validates on, decided from the store's rows without decoding a mask
(quick enough for a dialog; avs_studio.training.dataset decodes the chosen frames).

Kinds of training frames:
- accepted: a keyframe with an accepted mask (weight 1);
- edited (with include_edited): corrected by a person, not accepted yet, nothing left proposed (weight 1);
- pseudo (with pseudo_labels): a keyframe of a video nobody has reviewed (no accepted, edited or rejected
  row) holding OpenAVS proposals whose lowest object score reaches pseudo_min_score; weight pseudo_weight.
  The student's own proposals are never pseudo labels (it would learn its own mistakes).
"""

from __future__ import annotations

import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Protocol

REVIEWED = ("accepted", "edited", "rejected")
PSEUDO_SOURCES = ("proposal",)  # OpenAVS (teacher) proposals; never the student's own
KINDS = ("accepted", "edited", "pseudo")


class SelectionOptions(Protocol):
    split: str
    include_edited: bool
    pseudo_labels: bool
    pseudo_min_score: float
    val_fraction: float


@dataclass(frozen=True)
class Selected:
    kind: str  # one of KINDS
    rows: tuple[Any, ...]  # the frame's annotation rows (AnnotationRow), masks still encoded
    score: float | None  # the lowest object score of the rows (None: no score)


def _held_out(video_id: int, fraction: float) -> bool:
    return zlib.crc32(f"video:{video_id}".encode()) % 1000 < fraction * 1000


def split_videos(videos, split: str, val_fraction: float) -> tuple[list[int], list[int]]:
    """(training video ids, validation video ids). Benchmark splits are respected: "val" videos validate,
    "test" videos are never used; videos without a split train, except a stable held-out fraction that
    validates when no video is marked "val"."""
    has_val = any(v.split == "val" for v in videos)
    train, val = [], []
    for v in videos:
        if v.split == "val":
            val.append(v.id)
        elif v.split == split or (v.split is None and split == "train"):
            if not has_val and _held_out(v.id, val_fraction):
                val.append(v.id)
            else:
                train.append(v.id)
    return train, val


def _lowest(scores) -> float | None:
    known = [s for s in scores if s is not None]
    return min(known) if known else None


def select_frames(
    store, video_ids, *, include_edited: bool, pseudo_labels: bool, pseudo_min_score: float
) -> dict[tuple[int, int], Selected]:
    """(video, frame) -> the frame's kind and rows, for the frames of these videos that train."""
    wanted = set(video_ids)
    statuses = ("accepted", "edited") if include_edited else ("accepted",)
    by_frame: dict[tuple[int, int], list] = defaultdict(list)
    for r in store.iter_annotations(status=statuses):
        if r.video_id in wanted:
            by_frame[(r.video_id, r.frame)].append(r)
    reviewed: set[int] = set()
    proposed: dict[tuple[int, int], list] = defaultdict(list)
    if include_edited or pseudo_labels:
        for r in store.iter_annotations(status=("proposed", *REVIEWED)):
            if r.status in REVIEWED:
                reviewed.add(r.video_id)
            elif r.video_id in wanted:
                proposed[(r.video_id, r.frame)].append(r)
    out: dict[tuple[int, int], Selected] = {}
    for key, rows in by_frame.items():
        accepted = any(r.status == "accepted" for r in rows)
        if key in proposed and any(r.status == "edited" for r in rows):
            continue  # a correction in progress: something is still proposed
        out[key] = Selected("accepted" if accepted else "edited", tuple(rows), _lowest(r.score for r in rows))
    if pseudo_labels:
        for key, rows in proposed.items():
            rows = [r for r in rows if r.source in PSEUDO_SOURCES]
            if not rows or key[0] in reviewed:
                continue
            score = _lowest(r.score for r in rows)
            if score is None or score >= pseudo_min_score:
                out[key] = Selected("pseudo", tuple(rows), score)
    return out


def training_plan(store, options: SelectionOptions) -> dict[str, Any]:
    """What a run with these options will use: {"train": {kind: frames}, "val": {kind: frames},
    "train_videos": n, "val_videos": n}. Validation never uses pseudo labels."""
    train_ids, val_ids = split_videos(store.videos(), options.split, options.val_fraction)
    rules = {"include_edited": options.include_edited, "pseudo_min_score": options.pseudo_min_score}
    train = select_frames(store, train_ids, pseudo_labels=options.pseudo_labels, **rules)
    val = select_frames(store, val_ids, pseudo_labels=False, **rules)
    train, val = Counter(s.kind for s in train.values()), Counter(s.kind for s in val.values())
    return {
        "train": {k: train.get(k, 0) for k in KINDS},
        "val": {k: val.get(k, 0) for k in KINDS},
        "train_videos": len(train_ids),
        "val_videos": len(val_ids),
    }


def summarize(store, pseudo_min_score: float = 0.3) -> dict[str, dict[str, int]]:
    """Per split ("train", "val", "test", "unassigned", ...): videos, frames with accepted labels, frames
    only edited (corrected, not accepted, nothing left proposed) and pseudo-label candidate frames
    (proposed by OpenAVS in unreviewed videos, score >= the threshold)."""
    videos = store.videos()
    split_of = {v.id: v.split or "unassigned" for v in videos}
    out: dict[str, dict[str, int]] = {}
    for v in videos:
        counts = {"videos": 0, "accepted_frames": 0, "edited_frames": 0, "pseudo_frames": 0}
        out.setdefault(split_of[v.id], counts)["videos"] += 1
    every = select_frames(
        store, list(split_of), include_edited=True, pseudo_labels=True, pseudo_min_score=pseudo_min_score
    )
    for key, sel in every.items():
        out[split_of[key[0]]][f"{sel.kind}_frames"] += 1
    return out
