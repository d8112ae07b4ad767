"""Provenance: pipeline runs, per-clip results (what each model said), training runs.

Functions take the open session of the Store's transaction; ``store.Store`` is the facade over them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from avs_studio.store.db import get
from avs_studio.store.models import ClipResult, PipelineRun, TrainingRun, Video, utcnow
from avs_studio.store.rows import ClipResultRow, PipelineRunRow, TrainingRunRow

TRAINING_UPDATABLE = {"status", "checkpoint", "metrics", "started_at", "finished_at", "config"}


def start_pipeline_run(s: Session, engine: str, config: dict[str, Any], models: dict[str, Any]) -> int:
    run = PipelineRun(engine=engine, config=config, models=models, status="running", started_at=utcnow())
    s.add(run)
    s.flush()
    return run.id


def finish_pipeline_run(
    s: Session, run_id: int, status: str, timings: dict[str, Any] | None, where: str
) -> None:
    run = get(s, PipelineRun, run_id, "pipeline run", where)
    run.status, run.finished_at = status, utcnow()
    if timings is not None:
        run.timings = timings


def pipeline_runs(s: Session) -> list[PipelineRunRow]:
    return [PipelineRunRow.from_orm(p) for p in s.scalars(select(PipelineRun).order_by(PipelineRun.id))]


def add_clip_result(
    s: Session, run_id: int, video_id: int, frames: list[int], result: dict[str, Any], where: str
) -> int:
    get(s, PipelineRun, run_id, "pipeline run", where)
    get(s, Video, video_id, "video", where)
    c = ClipResult(run_id=run_id, video_id=video_id, frames=[int(f) for f in frames], result=result)
    s.add(c)
    s.flush()
    return c.id


def clip_results(s: Session, video_id: int) -> list[ClipResultRow]:
    q = select(ClipResult).where(ClipResult.video_id == video_id).order_by(ClipResult.id)
    return [ClipResultRow.from_orm(c) for c in s.scalars(q)]


def add_training_run(s: Session, name: str, config: dict[str, Any]) -> int:
    t = TrainingRun(name=name, config=config, status="created", metrics={})
    s.add(t)
    s.flush()
    return t.id


def update_training_run(s: Session, run_id: int, fields: dict[str, Any], where: str) -> TrainingRunRow:
    unknown = set(fields) - TRAINING_UPDATABLE
    if unknown:
        raise TypeError(
            f"update_training_run got unknown fields {sorted(unknown)}; allowed: {sorted(TRAINING_UPDATABLE)}"
        )
    t = get(s, TrainingRun, run_id, "training run", where)
    for k, v in fields.items():
        setattr(t, k, v)
    s.flush()
    return TrainingRunRow.from_orm(t)


def training_runs(s: Session) -> list[TrainingRunRow]:
    return [TrainingRunRow.from_orm(t) for t in s.scalars(select(TrainingRun).order_by(TrainingRun.id))]
