"""Quality of each proposal engine, measured on the people's own review (`avs-studio quality`).

For every frame a person has accepted (no annotation left proposed or edited, at least one accepted),
the proposal is what the engine stored, read back from the store: every stored proposal carries the id of
the pipeline run that wrote it (``run_id``) and a person's edit clears it, so a snapshot (the row, or a
revision's before/after) with a run id holds that run's mask. The frame's proposal is the union of the
snapshots of the newest run that proposed there, including proposals a person later deleted or rejected;
the engine is that run's ``engine``. Proposals written without a run (none of the jobs do) are a person's
tool output, not an engine's.

Per engine: mIoU and F of the proposal union against the union of the frame's accepted masks with the
AVSBench per-frame rule (avs_studio.masks.metrics.BinaryEvaluator("per-frame"), what `eval --protocol
per-frame` uses), the number of frames, and the share accepted unchanged (every proposed mask accepted as
stored: nothing edited, deleted, rejected or added).
"""

from __future__ import annotations

import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from avs_studio.jobs.project import Project
from avs_studio.masks import decode, rle_merge
from avs_studio.masks.metrics import BinaryEvaluator

PROPOSED = "proposed"
FINAL = ("accepted", "rejected")  # a frame whose annotations all have these statuses is reviewed
Key = tuple[int, int]  # (video id, frame)


@dataclass(frozen=True)
class EngineQuality:
    engine: str
    frames: int
    miou: float
    fscore: float
    accepted_unchanged: float  # share of the frames accepted exactly as proposed


@dataclass
class QualityReport:
    engines: list[EngineQuality] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"engines": [asdict(e) for e in self.engines]}


@dataclass
class _Proposal:
    run_id: int
    masks: dict[str, dict[str, Any]] = field(default_factory=dict)  # counts -> rle (one decode each)
    annotation_ids: set[int] = field(default_factory=set)


def accepted_frames(store: Any, split: str | None = None, video_ids: Sequence[int] | None = None) -> dict[Key, list[Any]]:
    """(video id, frame) -> its current annotation rows, for frames a person accepted: every row
    accepted or rejected and at least one accepted."""
    wanted = None if video_ids is None else set(video_ids)
    rows: dict[Key, list[Any]] = defaultdict(list)
    for r in store.iter_annotations(split=split):
        if wanted is None or r.video_id in wanted:
            rows[(r.video_id, r.frame)].append(r)
    return {
        k: v
        for k, v in rows.items()
        if all(r.status in FINAL for r in v) and any(r.status == "accepted" for r in v)
    }


def stored_proposals(store: Any, frames: set[Key]) -> dict[Key, _Proposal]:
    """The newest run's proposal of each of ``frames``, from the revision log (a reviewed frame's
    proposals always have a revision: the review itself)."""
    out: dict[Key, _Proposal] = {}
    for rev in store.revisions(limit=sys.maxsize):
        for snap in (rev.before, rev.after):
            if not snap or snap.get("status") != PROPOSED or snap.get("run_id") is None:
                continue
            key = (int(snap["video_id"]), int(snap["frame"]))
            if key not in frames:
                continue
            run = int(snap["run_id"])
            prop = out.get(key)
            if prop is None or run > prop.run_id:
                prop = out[key] = _Proposal(run)
            elif run < prop.run_id:
                continue
            prop.annotation_ids.add(int(snap["id"]))
            prop.masks.setdefault(
                str(snap["counts"]), {"size": [snap["height"], snap["width"]], "counts": snap["counts"]}
            )
    return out


def _union(rles: Any, shape: tuple[int, int]) -> np.ndarray:
    """One frame's masks as one bool mask: merged as RLEs, decoded once."""
    rles = list(rles)
    if not rles:
        return np.zeros(shape, bool)
    return decode(rles[0] if len(rles) == 1 else rle_merge(rles))


def _unchanged(rows: list[Any], prop: _Proposal) -> bool:
    """Every proposed mask accepted as stored: the rows are exactly the run's rows, all accepted."""
    return {r.id for r in rows} == prop.annotation_ids and all(
        r.status == "accepted" and r.run_id == prop.run_id for r in rows
    )


def proposal_quality(
    project: Project, *, split: str | None = None, video_ids: Sequence[int] | None = None
) -> QualityReport:
    """Quality of every engine that proposed a frame people have since accepted (see the module doc),
    engines in name order."""
    store = project.store
    frames = accepted_frames(store, split, video_ids)
    proposals = stored_proposals(store, set(frames))
    engine_of = {r.id: r.engine for r in store.pipeline_runs()}
    by_engine: dict[str, dict[int, list[Key]]] = defaultdict(lambda: defaultdict(list))
    for key in sorted(proposals):
        by_engine[engine_of.get(proposals[key].run_id, "unknown")][key[0]].append(key)
    report = QualityReport()
    for engine in sorted(by_engine):
        evaluator = BinaryEvaluator("per-frame")
        unchanged = 0
        for _video, keys in sorted(by_engine[engine].items()):
            preds, gts = [], []
            for key in keys:
                rows, prop = frames[key], proposals[key]
                shape = (rows[0].height, rows[0].width)
                gts.append(_union((r.rle for r in rows if r.status == "accepted" and r.area), shape))
                preds.append(_union(prop.masks.values(), shape))
                unchanged += _unchanged(rows, prop)
            evaluator.add_video(preds, gts)
        scores = evaluator.result()
        n = scores["frames"]
        report.engines.append(
            EngineQuality(engine, n, float(scores["miou"]), float(scores["fscore"]), unchanged / n)
        )
    return report
