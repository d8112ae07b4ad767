"""The Store: every edit is one committed transaction with a revision (undo log) in the database.

``Store`` is the facade; the work is done beside it: ``session`` (transactions, groups), ``settings``
(API keys kept out of the database), ``videos`` (videos, paths, objects), ``annotations`` (masks),
``history`` (the undo log, undo/redo), ``provenance`` (pipeline and training runs) and ``proposals``
(one clip's proposals), each a set of functions over the open session.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import getpass
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from avs_studio import names
from avs_studio.masks import OBJECT_PALETTE
from avs_studio.store import _rle, db, history, provenance, settings, videos
from avs_studio.store import annotations as annotation_ops
from avs_studio.store.annotations import SOURCES, STATUSES
from avs_studio.store.assignments import Assignments
from avs_studio.store.errors import ConflictError, StoreError
from avs_studio.store.models import Annotation, Category, SoundObject, Video
from avs_studio.store.proposals import FrameMasks, ProposalCounts, delete_proposals, replace_proposals
from avs_studio.store.rows import (
    AnnotationRow,
    ClipResultRow,
    ObjectRow,
    PipelineRunRow,
    RevisionRow,
    TrainingRunRow,
    VideoRow,
)
from avs_studio.store.session import Transactions

__all__ = ["PALETTE", "SOURCES", "STATUSES", "Store"]

PALETTE = OBJECT_PALETTE  # an object's colour is colour_for_index(its index in the video)

T = TypeVar("T")


def _default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "unknown"


def _as_dict(info: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(info) and not isinstance(info, type):
        return dataclasses.asdict(info)
    return dict(info)


class Store:
    """The project database. Thread-safe: every call uses its own short session and transaction.

    Returns plain frozen row dataclasses, never ORM objects.
    """

    def __init__(
        self,
        url: str,
        *,
        author: str | None = None,
        busy_timeout: float = 5.0,
        base_dir: str | Path | None = None,
        read_only: bool | str = False,
    ) -> None:
        """``base_dir``: the project folder; video paths inside it are stored relative to it.
        ``read_only``: True (or the reason, e.g. "no write permission on ...") opens the database
        without ever writing to it; every write raises ReadOnlyError naming the reason."""
        self.url = url
        self.author = author or _default_author()
        self.base_dir = None if base_dir is None else os.path.abspath(base_dir)
        self.read_only = (
            read_only if isinstance(read_only, str) else ("opened read-only" if read_only else "")
        )
        self._where = db.describe(url)
        with db.translated(url):
            self._engine = db.make_engine(url, busy_timeout, read_only=bool(read_only))
            try:
                db.upgrade(self._engine, read_only=bool(read_only))
            except BaseException:
                self._engine.dispose()
                raise
        self._tx = Transactions(self._engine, url, self.read_only)
        self.assignments = Assignments(self._tx, self.author, self._where)  # who annotates which video
        if not self.read_only:
            self._scrub_secrets()
            if self.base_dir is not None:
                self._relativise()

    def _relativise(self) -> None:
        """Paths of videos inside the project, stored absolute by older versions, become relative."""
        base = self.base_dir
        assert base is not None
        prefixes = (base + os.sep, os.path.realpath(base) + os.sep)
        paths = self._tx.read(lambda s: list(s.scalars(select(Video.path))))
        if any(p.startswith(prefixes) for p in paths):
            self.write(lambda s: videos.relativise(s, base))

    @classmethod
    def for_project(
        cls,
        project_dir: str | Path,
        url: str | None = None,
        *,
        author: str | None = None,
        read_only: bool | str = False,
    ) -> Store:
        """The store of a project: ``url`` if given, else SQLite ``project_dir/project.db``."""
        if url is None:
            path = Path(project_dir) / "project.db"
            if not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
        return cls(url, author=author, base_dir=project_dir, read_only=read_only)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._where!r})"

    # -- transactions (store.session) ---------------------------------------------------------------
    def _author(self, author: str | None) -> str:
        group = self._tx.current()
        return author or (group.author if group is not None else None) or self.author

    def group(self, author: str | None = None) -> contextlib.AbstractContextManager[None]:
        """One user action that changes many rows: ONE transaction and ONE undo/redo step.

        Every write of this thread inside the block joins one transaction (each call in a savepoint,
        so a caught error undoes only that call) and its revisions share a ``group_id``; the block
        commits at its end, or writes nothing if an exception leaves it. ``author``: the default
        author of the calls inside. Nesting is flat (an inner group joins the outer one).
        """
        return self._tx.group(author)

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in one write transaction and return its result (advanced use).

        ORM objects ``fn`` returns are detached after the commit: return plain values.
        """
        return self._tx.write(fn)

    # -- settings (store.settings: API keys go to the user's key store, never the database) -----------
    def get_setting(self, key: str, default: Any = None) -> Any:
        return self._tx.read(lambda s: settings.get(s, key, default))

    def set_setting(self, key: str, value: Any) -> None:
        settings.check_key(key)
        clean = settings.move_secrets(value)
        self.write(lambda s: settings.put(s, key, clean))

    def _scrub_secrets(self) -> None:
        """Move API keys an older version stored in the database into this user's key store."""
        for key, value in self._tx.read(settings.holding_secrets):
            self.set_setting(key, value)

    # -- videos ------------------------------------------------------------------------------------
    def add_video(
        self,
        info: Any,
        *,
        name: str | None = None,
        split: str | None = None,
        category: str | None = None,
        keyframe_rate: float = 1.0,
        meta: dict[str, Any] | None = None,
    ) -> int:
        """Add a video from a media.VideoInfo (or a dict with its fields); the same path again -> its id.

        VideoInfo fields without a column (audio_rate, variable_frame_rate, ...) go into ``meta``.
        """
        data = _as_dict(info)
        return self._tx.retrying(
            lambda s: videos.add_video(s, data, name=name, split=split, category=category,
                                       keyframe_rate=keyframe_rate, meta=meta, base=self.base_dir)
        )  # fmt: skip

    def videos(self, split: str | None = None) -> list[VideoRow]:
        q = select(Video).order_by(Video.id)
        if split is not None:
            q = q.where(Video.split == split)
        return self._tx.read(lambda s: [VideoRow.from_orm(v, self.base_dir) for v in s.scalars(q)])

    def video(self, video_id: int) -> VideoRow:
        return self._tx.read(
            lambda s: VideoRow.from_orm(db.get(s, Video, video_id, "video", self._where), self.base_dir)
        )

    def update_video(self, video_id: int, **fields: Any) -> VideoRow:
        return self.write(lambda s: videos.update_video(s, video_id, fields, self._where, self.base_dir))

    def categories(self) -> list[str]:
        return self._tx.read(lambda s: list(s.scalars(select(Category.name).order_by(Category.name))))

    # -- objects -----------------------------------------------------------------------------------
    def add_object(self, video_id: int, label: str, colour: str | None = None) -> int:
        """A new sounding object; its palette colour follows its index in the video and never changes."""
        return self.write(lambda s: videos.add_object(s, video_id, label, colour, self._where))

    def ensure_object(self, video_id: int, label: str) -> int:
        """The id of ``video_id``'s object labelled ``label``, created if there is none. Safe when several
        writers (two imports) ask at once: they all get the one object."""

        def find_or_add(s: Session) -> int:
            found = videos.find_object(s, video_id, label)
            if found is not None:
                return found
            db.get(s, Video, video_id, "video", self._where)
            return videos.new_object(s, video_id, names.check_label(label))

        return self._tx.retrying(find_or_add)

    def objects(self, video_id: int) -> list[ObjectRow]:
        q = select(SoundObject).where(SoundObject.video_id == video_id).order_by(SoundObject.index)
        return self._tx.read(lambda s: [ObjectRow.from_orm(o) for o in s.scalars(q)])

    def update_object(
        self,
        object_id: int,
        *,
        label: str | None = None,
        colour: str | None = None,
        visible: bool | None = None,
        locked: bool | None = None,
    ) -> ObjectRow:
        fields = {"label": label, "colour": colour, "visible": visible, "locked": locked}
        return self.write(lambda s: videos.update_object(s, object_id, fields, self._where))

    def merge_objects(self, keep_id: int, drop_id: int) -> None:
        """Move ``drop_id``'s masks to ``keep_id`` (union where both have one) and delete ``drop_id``.

        Not undoable: earlier undo steps of the touched annotations are discarded.
        """
        self.write(lambda s: videos.merge_objects(s, keep_id, drop_id, self._where))

    def delete_object(self, object_id: int) -> None:
        """Delete an object and its masks. Not undoable: their undo steps are discarded."""
        self.write(lambda s: videos.delete_object(s, object_id, self._where))

    # -- annotations -------------------------------------------------------------------------------
    def put_annotation(
        self,
        video_id: int,
        frame: int,
        object_id: int | None,
        mask_or_rle: Any,
        *,
        source: str,
        status: str,
        author: str | None = None,
        score: float | None = None,
        run_id: int | None = None,
        expected_version: int | None = None,
        create_only: bool = False,
    ) -> AnnotationRow:
        """Create or replace the mask of (video, frame, object) in its own transaction, with a revision.

        ``expected_version``: the version the caller last saw; ConflictError if the row is at another
        version (or gone). ``create_only``: the caller saw no mask there; ConflictError if another
        author's is there now (one of this author's own, e.g. a stroke still in flight, is replaced).
        Neither = overwrite whatever is there (imports, tools; never for a person's edit).
        """
        if create_only and expected_version is not None:
            raise ValueError(
                "put_annotation takes expected_version (an edit) or create_only (a new mask), not both"
            )
        annotation_ops.check(source, annotation_ops.SOURCES, "source")
        annotation_ops.check(status, annotation_ops.STATUSES, "status")
        rle, area = _rle.to_rle(mask_or_rle)
        author = self._author(author)
        attempted = dict(
            video_id=video_id, frame=frame, object_id=object_id, rle=rle, source=source, status=status,
            author=author, score=score, run_id=run_id,
        )  # fmt: skip
        group = self._tx.current()
        try:
            return self._tx.write_or(
                lambda s: annotation_ops.put(
                    s, video_id, frame, object_id, rle, area, attempted,
                    expected_version=expected_version, create_only=create_only, group=group,
                ),
                lambda reason: annotation_ops.refused(reason, attempted, expected_version),
            )  # fmt: skip
        except ConflictError as exc:
            exc.attempted = exc.attempted or attempted
            raise

    def add_annotations(
        self,
        items: Iterable[dict[str, Any]],
        *,
        source: str,
        status: str,
        author: str | None = None,
        run_id: int | None = None,
        chunk: int = 2000,
        skip_existing: bool = False,
    ) -> int:
        """Bulk insert (imports, proposals) in one transaction, without undo revisions.

        Each item: {"video_id", "frame", "object_id" (None = empty), "mask" or "rle", optional "score"}.
        Raises StoreError if one of them already exists (nothing is written then), unless
        ``skip_existing``: then those are left as they are (another import got there first). Returns
        the count inserted.
        """
        annotation_ops.check(source, annotation_ops.SOURCES, "source")
        annotation_ops.check(status, annotation_ops.STATUSES, "status")
        rows = annotation_ops.bulk_rows(
            items, source=source, status=status, author=self._author(author), run_id=run_id
        )
        return self._tx.write_or(
            lambda s: annotation_ops.insert_rows(s, rows, chunk, skip_existing),
            lambda reason: StoreError(
                f"bulk insert into {self._where} refused (nothing was written): an annotation for one of "
                f"these (video, frame, object) already exists, or a video/object id is unknown: {reason}"
            ),
        )

    def annotation(self, annotation_id: int) -> AnnotationRow:
        return self._tx.read(
            lambda s: AnnotationRow.from_orm(db.get(s, Annotation, annotation_id, "annotation", self._where))
        )

    def set_status(
        self,
        annotation_id: int,
        status: str,
        *,
        author: str | None = None,
        expected_version: int | None = None,
    ) -> AnnotationRow:
        annotation_ops.check(status, annotation_ops.STATUSES, "status")
        author = self._author(author)
        group = self._tx.current()
        return self.write(
            lambda s: annotation_ops.set_status(
                s, annotation_id, status, author, expected_version, group, self._where
            )
        )

    def delete_annotation(
        self, annotation_id: int, *, author: str | None = None, expected_version: int | None = None
    ) -> None:
        author = self._author(author)
        group = self._tx.current()
        self.write(
            lambda s: annotation_ops.delete(s, annotation_id, author, expected_version, group, self._where)
        )

    def annotations(
        self,
        video_id: int | None = None,
        frame: int | None = None,
        status: str | Sequence[str] | None = None,
        source: str | Sequence[str] | None = None,
        split: str | None = None,
    ) -> list[AnnotationRow]:
        """Matching annotations ordered by video, frame, object (the empty row first)."""
        q = annotation_ops.filtered(video_id, frame, status, source, split).order_by(
            Annotation.video_id, Annotation.frame, Annotation.object_id.asc().nulls_first(), Annotation.id
        )
        return self._tx.read(lambda s: annotation_ops.rows(s, q))

    def iter_annotations(
        self,
        video_id: int | None = None,
        frame: int | None = None,
        status: str | Sequence[str] | None = None,
        source: str | Sequence[str] | None = None,
        split: str | None = None,
        batch: int = 1000,
    ) -> Iterator[AnnotationRow]:
        """Stream matching annotations in id order, ``batch`` rows per short read transaction."""
        last = 0
        while True:
            q = annotation_ops.filtered(video_id, frame, status, source, split)
            q = q.where(Annotation.id > last).order_by(Annotation.id).limit(batch)
            rows = self._tx.read(functools.partial(annotation_ops.rows, q=q))
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1].id

    def frame_statuses(self, video_id: int) -> list[tuple[int, str]]:
        """The distinct (frame, status) pairs of a video's annotations: which frames have masks, no masks read."""
        return self._tx.read(lambda s: annotation_ops.frame_statuses(s, video_id))

    def annotation_versions(self, video_id: int) -> dict[int, int]:
        """{annotation id: version} of a video's annotations, no masks read (what a window has seen)."""
        q = select(Annotation.id, Annotation.version).where(Annotation.video_id == video_id)
        return self._tx.read(lambda s: {int(i): int(v) for i, v in s.execute(q)})

    def counts(self, video_id: int) -> dict[str, dict[str, int]]:
        """{"status": {status: n}, "source": {source: n}} for one video (every known key, zeros too)."""
        return self._tx.read(lambda s: annotation_ops.counts(s, video_id))

    # -- undo / redo (store.history) ---------------------------------------------------------------
    def undo(self, author: str | None = None) -> RevisionRow | None:
        """Revert the newest 'done' edit of ``author`` (default: this store's author); None when there
        is nothing to undo. Another author's edits are never touched.

        An edit made in a ``group`` is reverted with its whole group (newest first, one transaction;
        a conflict on any row changes nothing); the returned row is the last one handled."""
        return self._step("undo", author)

    def redo(self, author: str | None = None) -> RevisionRow | None:
        """Re-apply the oldest 'undone' edit of ``author`` (default: this store's author), with its whole
        group (oldest first); None when there is nothing to redo."""
        return self._step("redo", author)

    def _step(self, what: str, author: str | None) -> RevisionRow | None:
        author = self._author(author)
        return self._tx.write_or(lambda s: history.step(s, what, author), lambda r: history.refused(what, r))

    def can_undo(self, author: str | None = None) -> bool:
        author = self._author(author)
        return self._tx.read(lambda s: history.has_step(s, "done", author))

    def can_redo(self, author: str | None = None) -> bool:
        author = self._author(author)
        return self._tx.read(lambda s: history.has_step(s, "undone", author))

    def revisions(self, annotation_id: int | None = None, limit: int = 100) -> list[RevisionRow]:
        """Newest first (every author); of one annotation if given."""
        return self._tx.read(lambda s: history.revisions(s, annotation_id, limit))

    # -- provenance (store.provenance) -------------------------------------------------------------
    def start_pipeline_run(self, engine: str, config: dict[str, Any], models: dict[str, Any]) -> int:
        return self.write(lambda s: provenance.start_pipeline_run(s, engine, config, models))

    def finish_pipeline_run(self, run_id: int, status: str, timings: dict[str, Any] | None = None) -> None:
        self.write(lambda s: provenance.finish_pipeline_run(s, run_id, status, timings, self._where))

    def pipeline_runs(self) -> list[PipelineRunRow]:
        return self._tx.read(provenance.pipeline_runs)

    def add_clip_result(self, run_id: int, video_id: int, frames: list[int], result: dict[str, Any]) -> int:
        """Provenance of one clip: describer texts, LLM prompt/answer, phrases, boxes, scores, timings."""
        return self.write(
            lambda s: provenance.add_clip_result(s, run_id, video_id, frames, result, self._where)
        )

    def replace_proposals(
        self,
        video_id: int,
        frames: Sequence[FrameMasks],
        shape: tuple[int, int],
        *,
        run_id: int | None = None,
        result: dict[str, Any] | None = None,
        author: str = "openavs",
        source: str = "proposal",
    ) -> ProposalCounts:
        """One clip's proposals (and, with ``run_id``, its provenance ``result``) in one transaction;
        keyframes a person reviewed or edited are skipped (see store.proposals)."""
        annotation_ops.check(source, annotation_ops.SOURCES, "source")
        return self.write(
            lambda s: replace_proposals(
                s, video_id, frames, shape, run_id=run_id, result=result, author=author, source=source
            )
        )

    def delete_proposals(self, video_id: int, frames: Sequence[int], *, source: str) -> int:
        """Remove the still-proposed annotations of ``source`` on these frames; returns how many."""
        annotation_ops.check(source, annotation_ops.SOURCES, "source")
        return self.write(lambda s: delete_proposals(s, video_id, list(frames), source))

    def clip_results(self, video_id: int) -> list[ClipResultRow]:
        return self._tx.read(lambda s: provenance.clip_results(s, video_id))

    def add_training_run(self, name: str, config: dict[str, Any]) -> int:
        return self._tx.write_or(
            lambda s: provenance.add_training_run(s, name, config),
            lambda _r: StoreError(f"a training run named {name!r} already exists; choose another name"),
        )

    def update_training_run(self, run_id: int, **fields: Any) -> TrainingRunRow:
        return self.write(lambda s: provenance.update_training_run(s, run_id, fields, self._where))

    def training_runs(self) -> list[TrainingRunRow]:
        return self._tx.read(provenance.training_runs)
