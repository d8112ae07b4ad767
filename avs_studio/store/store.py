"""The Store: every edit is one committed transaction with a revision (undo log) in the database."""

from __future__ import annotations

import contextlib
import dataclasses
import getpass
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from avs_studio.masks import OBJECT_PALETTE, colour_for_index
from avs_studio.store import _rle, db
from avs_studio.store.errors import ConflictError, NotFoundError, StoreError
from avs_studio.store.models import (
    Annotation,
    Category,
    ClipResult,
    PipelineRun,
    Revision,
    Setting,
    SoundObject,
    TrainingRun,
    Video,
    utcnow,
)
from avs_studio.store.proposals import FrameMasks, ProposalCounts, replace_proposals
from avs_studio.store.rows import (
    AnnotationRow,
    ClipResultRow,
    ObjectRow,
    PipelineRunRow,
    RevisionRow,
    TrainingRunRow,
    VideoRow,
)

STATUSES = ("proposed", "accepted", "rejected", "edited")  # edited = changed by a person, not accepted
SOURCES = ("proposal", "manual", "imported", "student")
REVIEWED = ("accepted", "rejected")
PALETTE = OBJECT_PALETTE  # an object's colour is colour_for_index(its index in the video)
VIDEO_FIELDS = ("path", "fps", "frame_count", "width", "height", "duration", "has_audio", "sha256")
VIDEO_UPDATABLE = set(VIDEO_FIELDS) | {"name", "split", "category", "keyframe_rate", "meta"}
TRAINING_UPDATABLE = {"status", "checkpoint", "metrics", "started_at", "finished_at", "config"}
# annotation fields kept in revision snapshots and restored by undo/redo
SNAPSHOT_FIELDS = (
    "video_id", "frame", "object_id", "counts", "height", "width", "area", "source", "status", "author",
    "score", "run_id", "reviewed_by", "reviewed_at",
)  # fmt: skip

T = TypeVar("T")


def _default_author() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return "unknown"


def _snapshot(a: Annotation) -> dict[str, Any]:
    snap = {k: getattr(a, k) for k in SNAPSHOT_FIELDS}
    snap["reviewed_at"] = a.reviewed_at.isoformat() if a.reviewed_at else None
    snap["id"] = a.id
    snap["version"] = a.version
    return snap


def _restore(a: Annotation, snap: dict[str, Any]) -> None:
    for k in SNAPSHOT_FIELDS:
        setattr(a, k, snap[k])
    a.reviewed_at = datetime.fromisoformat(snap["reviewed_at"]) if snap["reviewed_at"] else None
    a.updated_at = utcnow()


def _check(value: str, allowed: Sequence[str], what: str) -> None:
    if value not in allowed:
        raise ValueError(f"unknown annotation {what} {value!r}; use one of {', '.join(allowed)}")


@dataclasses.dataclass
class _Group:
    """An open ``Store.group``: its transaction, default author and id (set by its first revision)."""

    session: Session
    author: str | None
    id: int | None = None


def _as_dict(info: Any) -> dict[str, Any]:
    if dataclasses.is_dataclass(info) and not isinstance(info, type):
        return dataclasses.asdict(info)
    return dict(info)


class Store:
    """The project database. Thread-safe: every call uses its own short session and transaction.

    Returns plain frozen row dataclasses, never ORM objects.
    """

    def __init__(self, url: str, *, author: str | None = None, busy_timeout: float = 5.0) -> None:
        self.url = url
        self.author = author or _default_author()
        with db.translated(url):
            self._engine = db.make_engine(url, busy_timeout)
            try:
                db.upgrade(self._engine)
            except BaseException:
                self._engine.dispose()
                raise
        self._read = sessionmaker(self._engine, expire_on_commit=False)
        self._writer = sessionmaker(self._engine.execution_options(avs_write=True), expire_on_commit=False)
        self._local = threading.local()  # the open group of each thread

    @classmethod
    def for_project(
        cls, project_dir: str | Path, url: str | None = None, *, author: str | None = None
    ) -> Store:
        """The store of a project: ``url`` if given, else SQLite ``project_dir/project.db``."""
        if url is None:
            path = Path(project_dir) / "project.db"
            path.parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{path}"
        return cls(url, author=author)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({db.describe(self.url)!r})"

    # -- sessions ----------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _reading(self) -> Iterator[Session]:
        with db.translated(self.url), self._read() as s, s.begin():
            yield s

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Session]:
        group = self._group()
        try:
            if group is not None:  # inside Store.group: a savepoint of the group's transaction
                with db.translated(self.url), group.session.begin_nested():
                    yield group.session
            else:
                with db.translated(self.url), self._writer() as s, s.begin():
                    yield s
        except StaleDataError as exc:  # a concurrent writer won between our read and our UPDATE
            raise ConflictError(
                None, None, None, detail=f"Another writer changed the same row first: {exc}"
            ) from exc

    def _group(self) -> _Group | None:
        return getattr(self._local, "group", None)

    def _author(self, author: str | None) -> str:
        group = self._group()
        return author or (group.author if group is not None else None) or self.author

    @contextlib.contextmanager
    def group(self, author: str | None = None) -> Iterator[None]:
        """One user action that changes many rows: ONE transaction and ONE undo/redo step.

        Every write of this thread inside the block joins one transaction (each call in a savepoint,
        so a caught error undoes only that call) and its revisions share a ``group_id``; the block
        commits at its end, or writes nothing if an exception leaves it. ``author``: the default
        author of the calls inside. Nesting is flat (an inner group joins the outer one).
        """
        if self._group() is not None:
            yield
            return
        try:
            with db.translated(self.url), self._writer() as s, s.begin():
                self._local.group = _Group(s, author)
                try:
                    yield
                finally:
                    self._local.group = None
        except StaleDataError as exc:
            raise ConflictError(
                None, None, None, detail=f"Another writer changed the same row first: {exc}"
            ) from exc

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run ``fn(session)`` in one write transaction and return its result (advanced use).

        ORM objects ``fn`` returns are detached after the commit: return plain values.
        """
        with self._writing() as s:
            return fn(s)

    # -- settings ----------------------------------------------------------------------------------
    def get_setting(self, key: str, default: Any = None) -> Any:
        with self._reading() as s:
            row = s.get(Setting, key)
            return default if row is None else row.value

    def set_setting(self, key: str, value: Any) -> None:
        with self._writing() as s:
            row = s.get(Setting, key)
            if row is None:
                s.add(Setting(key=key, value=value))
            else:
                row.value = value

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
        missing = [k for k in ("path", "fps", "frame_count", "width", "height", "duration") if k not in data]
        if missing:
            raise ValueError(f"video info lacks {', '.join(missing)}")
        path = str(data["path"])
        extra = {k: v for k, v in data.items() if k not in VIDEO_FIELDS}
        with self._writing() as s:
            existing = s.scalar(select(Video.id).where(Video.path == path))
            if existing is not None:
                return existing
            video = Video(
                path=path,
                name=name or Path(path).stem,
                fps=float(data["fps"]),
                frame_count=int(data["frame_count"]),
                width=int(data["width"]),
                height=int(data["height"]),
                duration=float(data["duration"]),
                has_audio=bool(data.get("has_audio", False)),
                sha256=data.get("sha256"),
                split=split,
                category=category,
                keyframe_rate=float(keyframe_rate),
                meta={**extra, **(meta or {})},
            )
            s.add(video)
            self._ensure_category(s, category)
            s.flush()
            return video.id

    @staticmethod
    def _ensure_category(s: Session, category: str | None) -> None:
        if category and s.scalar(select(Category.id).where(Category.name == category)) is None:
            s.add(Category(name=category))

    def videos(self, split: str | None = None) -> list[VideoRow]:
        q = select(Video).order_by(Video.id)
        if split is not None:
            q = q.where(Video.split == split)
        with self._reading() as s:
            return [VideoRow.from_orm(v) for v in s.scalars(q)]

    def video(self, video_id: int) -> VideoRow:
        with self._reading() as s:
            return VideoRow.from_orm(self._get(s, Video, video_id, "video"))

    def update_video(self, video_id: int, **fields: Any) -> VideoRow:
        unknown = set(fields) - VIDEO_UPDATABLE
        if unknown:
            raise TypeError(
                f"update_video got unknown fields {sorted(unknown)}; allowed: {sorted(VIDEO_UPDATABLE)}"
            )
        with self._writing() as s:
            v = self._get(s, Video, video_id, "video")
            for k, val in fields.items():
                setattr(v, k, val)
            self._ensure_category(s, fields.get("category"))
            s.flush()
            return VideoRow.from_orm(v)

    def categories(self) -> list[str]:
        with self._reading() as s:
            return list(s.scalars(select(Category.name).order_by(Category.name)))

    # -- objects -----------------------------------------------------------------------------------
    def add_object(self, video_id: int, label: str, colour: str | None = None) -> int:
        """A new sounding object; its palette colour follows its index in the video and never changes."""
        with self._writing() as s:
            self._get(s, Video, video_id, "video")
            last = s.scalar(select(func.max(SoundObject.index)).where(SoundObject.video_id == video_id))
            index = 0 if last is None else last + 1
            obj = SoundObject(
                video_id=video_id, label=label, colour=colour or colour_for_index(index), index=index
            )
            s.add(obj)
            s.flush()
            return obj.id

    def objects(self, video_id: int) -> list[ObjectRow]:
        q = select(SoundObject).where(SoundObject.video_id == video_id).order_by(SoundObject.index)
        with self._reading() as s:
            return [ObjectRow.from_orm(o) for o in s.scalars(q)]

    def update_object(
        self,
        object_id: int,
        *,
        label: str | None = None,
        colour: str | None = None,
        visible: bool | None = None,
        locked: bool | None = None,
    ) -> ObjectRow:
        with self._writing() as s:
            obj = self._get(s, SoundObject, object_id, "object")
            for k, val in (("label", label), ("colour", colour), ("visible", visible), ("locked", locked)):
                if val is not None:
                    setattr(obj, k, val)
            s.flush()
            return ObjectRow.from_orm(obj)

    def merge_objects(self, keep_id: int, drop_id: int) -> None:
        """Move ``drop_id``'s masks to ``keep_id`` (union where both have one) and delete ``drop_id``.

        Not undoable: earlier undo steps of the touched annotations are discarded.
        """
        if keep_id == drop_id:
            raise ValueError("cannot merge an object with itself")
        with self._writing() as s:
            keep = self._get(s, SoundObject, keep_id, "object")
            drop = self._get(s, SoundObject, drop_id, "object")
            if keep.video_id != drop.video_id:
                raise StoreError(f"objects {keep_id} and {drop_id} belong to different videos; cannot merge")
            kept = {a.frame: a for a in s.scalars(select(Annotation).where(Annotation.object_id == keep_id))}
            touched: list[int] = []
            for a in s.scalars(select(Annotation).where(Annotation.object_id == drop_id)).all():
                touched.append(a.id)
                k = kept.get(a.frame)
                if k is None:
                    a.object_id = keep_id
                    a.version += 1
                    a.updated_at = utcnow()
                    continue
                rle, area = _rle.to_rle(_rle.to_mask(self._rle_of(k)) | _rle.to_mask(self._rle_of(a)))
                k.counts, k.area, k.version, k.updated_at = rle["counts"], area, k.version + 1, utcnow()
                touched.append(k.id)
                s.delete(a)
            s.flush()
            self._discard_history(s, touched)
            s.delete(drop)

    def delete_object(self, object_id: int) -> None:
        """Delete an object and its masks. Not undoable: their undo steps are discarded."""
        with self._writing() as s:
            obj = self._get(s, SoundObject, object_id, "object")
            ids = list(s.scalars(select(Annotation.id).where(Annotation.object_id == object_id)))
            s.execute(delete(Annotation).where(Annotation.object_id == object_id))
            self._discard_history(s, ids)
            s.delete(obj)

    @staticmethod
    def _discard_history(s: Session, annotation_ids: list[int]) -> None:
        for i in range(0, len(annotation_ids), 500):
            s.execute(
                update(Revision)
                .where(Revision.annotation_id.in_(annotation_ids[i : i + 500]), Revision.state != "discarded")
                .values(state="discarded")
            )

    # -- annotations -------------------------------------------------------------------------------
    @staticmethod
    def _rle_of(a: Annotation) -> dict[str, Any]:
        return {"size": [a.height, a.width], "counts": a.counts}

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
    ) -> AnnotationRow:
        """Create or replace the mask of (video, frame, object) in its own transaction, with a revision.

        ``expected_version``: the version the caller last saw; ConflictError if the row is at another
        version (or gone). None = overwrite whatever is there.
        """
        _check(source, SOURCES, "source")
        _check(status, STATUSES, "status")
        rle, area = _rle.to_rle(mask_or_rle)
        author = self._author(author)
        attempted = dict(
            video_id=video_id, frame=frame, object_id=object_id, rle=rle, source=source, status=status,
            author=author, score=score, run_id=run_id,
        )  # fmt: skip
        key = (
            Annotation.video_id == video_id,
            Annotation.frame == frame,
            Annotation.object_id.is_(None) if object_id is None else Annotation.object_id == object_id,
        )
        try:
            with self._writing() as s:
                a = s.scalars(select(Annotation).where(*key).with_for_update()).one_or_none()
                if expected_version is not None and (a is None or a.version != expected_version):
                    raise ConflictError(
                        a.id if a else None, expected_version, a.version if a else None, attempted
                    )
                now = utcnow()
                before = None if a is None else _snapshot(a)
                if a is None:
                    a = Annotation(
                        video_id=video_id, frame=frame, object_id=object_id, version=1, created_at=now
                    )
                    s.add(a)
                else:
                    a.version += 1
                a.counts, a.height, a.width, a.area = rle["counts"], rle["size"][0], rle["size"][1], area
                a.source, a.status, a.author, a.score, a.run_id, a.updated_at = (
                    source, status, author, score, run_id, now
                )  # fmt: skip
                a.reviewed_by, a.reviewed_at = (author, now) if status in REVIEWED else (None, None)
                s.flush()
                self._record(s, a, "create" if before is None else "update", before, author)
                return AnnotationRow.from_orm(a)
        except ConflictError as exc:
            exc.attempted = exc.attempted or attempted
            raise
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            if "foreign key" in str(exc.__cause__.orig).lower():
                raise NotFoundError(
                    f"cannot store the mask: video {video_id}, object {object_id} or run {run_id} does not exist"
                ) from exc
            raise ConflictError(
                None, expected_version, None, attempted,
                detail=f"Another writer created the annotation of video {video_id}, frame {frame}, object "
                f"{object_id} at the same moment; nothing was written. Reload and re-apply "
                f"(the edit is in ConflictError.attempted).",
            ) from exc  # fmt: skip

    def add_annotations(
        self,
        items: Iterable[dict[str, Any]],
        *,
        source: str,
        status: str,
        author: str | None = None,
        run_id: int | None = None,
        chunk: int = 2000,
    ) -> int:
        """Bulk insert (imports, proposals) in one transaction, without undo revisions.

        Each item: {"video_id", "frame", "object_id" (None = empty), "mask" or "rle", optional "score"}.
        Raises StoreError if one of them already exists (nothing is written then). Returns the count.
        """
        _check(source, SOURCES, "source")
        _check(status, STATUSES, "status")
        author = self._author(author)
        n = 0
        try:
            with self._writing() as s:
                batch: list[dict[str, Any]] = []
                for item in items:
                    rle, area = _rle.to_rle(item["rle"] if "rle" in item else item["mask"])
                    now = utcnow()
                    batch.append(
                        dict(
                            video_id=item["video_id"], frame=int(item["frame"]), object_id=item.get("object_id"),
                            counts=rle["counts"], height=rle["size"][0], width=rle["size"][1], area=area,
                            source=source, status=status, author=author, score=item.get("score"),
                            run_id=run_id, version=1, created_at=now, updated_at=now,
                            reviewed_by=author if status in REVIEWED else None,
                            reviewed_at=now if status in REVIEWED else None,
                        )
                    )  # fmt: skip
                    if len(batch) >= chunk:
                        s.execute(insert(Annotation), batch)
                        n += len(batch)
                        batch = []
                if batch:
                    s.execute(insert(Annotation), batch)
                    n += len(batch)
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            raise StoreError(
                f"bulk insert into {db.describe(self.url)} refused (nothing was written): an annotation for one "
                f"of these (video, frame, object) already exists, or a video/object id is unknown: {exc.__cause__.orig}"
            ) from exc
        return n

    def annotation(self, annotation_id: int) -> AnnotationRow:
        with self._reading() as s:
            return AnnotationRow.from_orm(self._get(s, Annotation, annotation_id, "annotation"))

    def set_status(
        self,
        annotation_id: int,
        status: str,
        *,
        author: str | None = None,
        expected_version: int | None = None,
    ) -> AnnotationRow:
        _check(status, STATUSES, "status")
        author = self._author(author)
        with self._writing() as s:
            a = self._locked(
                s, annotation_id, expected_version, {"status": status, "author": author}, "status change"
            )
            before = _snapshot(a)
            now = utcnow()
            a.status, a.version, a.updated_at = status, a.version + 1, now
            a.reviewed_by, a.reviewed_at = (author, now) if status in REVIEWED else (None, None)
            s.flush()
            self._record(s, a, "status", before, author)
            return AnnotationRow.from_orm(a)

    def delete_annotation(
        self, annotation_id: int, *, author: str | None = None, expected_version: int | None = None
    ) -> None:
        author = self._author(author)
        with self._writing() as s:
            a = self._locked(s, annotation_id, expected_version, {"delete": True, "author": author}, "delete")
            before = _snapshot(a)
            s.delete(a)
            s.flush()
            self._record(s, None, "delete", before, author, annotation_id=annotation_id)

    def _locked(
        self, s: Session, annotation_id: int, expected: int | None, attempted: dict[str, Any], what: str
    ) -> Annotation:
        a = s.scalars(
            select(Annotation).where(Annotation.id == annotation_id).with_for_update()
        ).one_or_none()
        if expected is not None and (a is None or a.version != expected):
            attempted = {"annotation_id": annotation_id, **attempted}
            raise ConflictError(annotation_id, expected, a.version if a else None, attempted, what)
        if a is None:
            raise NotFoundError(f"annotation {annotation_id} does not exist in {db.describe(self.url)}")
        return a

    def annotations(
        self,
        video_id: int | None = None,
        frame: int | None = None,
        status: str | Sequence[str] | None = None,
        source: str | Sequence[str] | None = None,
        split: str | None = None,
    ) -> list[AnnotationRow]:
        """Matching annotations ordered by video, frame, object (the empty row first)."""
        q = self._filtered(video_id, frame, status, source, split).order_by(
            Annotation.video_id, Annotation.frame, Annotation.object_id.asc().nulls_first(), Annotation.id
        )
        with self._reading() as s:
            return [AnnotationRow.from_orm(a) for a in s.scalars(q)]

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
            q = self._filtered(video_id, frame, status, source, split)
            q = q.where(Annotation.id > last).order_by(Annotation.id).limit(batch)
            with self._reading() as s:
                rows = [AnnotationRow.from_orm(a) for a in s.scalars(q)]
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1].id

    @staticmethod
    def _filtered(
        video_id: int | None,
        frame: int | None,
        status: str | Sequence[str] | None,
        source: str | Sequence[str] | None,
        split: str | None,
    ) -> Select[tuple[Annotation]]:
        q = select(Annotation)
        if video_id is not None:
            q = q.where(Annotation.video_id == video_id)
        if frame is not None:
            q = q.where(Annotation.frame == frame)
        for col, val in ((Annotation.status, status), (Annotation.source, source)):
            if isinstance(val, str):
                q = q.where(col == val)
            elif val is not None:
                q = q.where(col.in_(list(val)))
        if split is not None:
            q = q.join(Video, Video.id == Annotation.video_id).where(Video.split == split)
        return q

    def counts(self, video_id: int) -> dict[str, dict[str, int]]:
        """{"status": {status: n}, "source": {source: n}} for one video (every known key, zeros too)."""
        out: dict[str, dict[str, int]] = {
            "status": dict.fromkeys(STATUSES, 0),
            "source": dict.fromkeys(SOURCES, 0),
        }
        with self._reading() as s:
            for name, col in (("status", Annotation.status), ("source", Annotation.source)):
                q = select(col, func.count()).where(Annotation.video_id == video_id).group_by(col)
                for value, n in s.execute(q):
                    out[name][value] = n
        return out

    # -- revisions: undo / redo --------------------------------------------------------------------
    def _record(
        self,
        s: Session,
        a: Annotation | None,
        action: str,
        before: dict[str, Any] | None,
        author: str,
        annotation_id: int | None = None,
    ) -> Revision:
        # a new edit makes this author's undone steps unreachable (standard undo stack)
        s.execute(
            update(Revision)
            .where(Revision.state == "undone", Revision.author == author)
            .values(state="discarded")
        )
        after = None if a is None else _snapshot(a)
        group = self._group()
        rev = Revision(
            annotation_id=a.id if a is not None else annotation_id,
            action=action,
            before=before,
            after=after,
            author=author,
            state="done",
            row_version=None if a is None else a.version,
            created_at=utcnow(),
            group_id=None if group is None else group.id,
        )
        s.add(rev)
        s.flush()
        if group is not None and group.id is None:  # the group's first revision names it
            group.id = rev.group_id = rev.seq
            s.flush()
        return rev

    def _apply(self, s: Session, rev: Revision, target: dict[str, Any] | None, what: str) -> None:
        """Bring the annotation of ``rev`` to ``target`` (None = absent) if it is still as ``rev`` left it."""
        a = s.scalars(
            select(Annotation).where(Annotation.id == rev.annotation_id).with_for_update()
        ).one_or_none()
        current = None if a is None else a.version
        if current != rev.row_version:
            raise ConflictError(
                rev.annotation_id, rev.row_version, current, target,
                what=f"{what} of revision {rev.seq}",
                detail=f"Cannot {what} revision {rev.seq} ({rev.action} of annotation {rev.annotation_id}): the "
                f"annotation changed since (expected version {rev.row_version}, found {current}). Nothing was "
                f"changed; edit the annotation directly instead.",
            )  # fmt: skip
        if target is None:
            s.delete(a)
            rev.row_version = None
        else:
            versions = [v["version"] for v in (rev.before, rev.after) if v]
            if a is None:  # restore a deleted row under its old id, with a version it never had
                a = Annotation(id=rev.annotation_id, version=max(versions) + 1, created_at=utcnow())
                _restore(a, target)
                s.add(a)
            else:
                a.version = a.version + 1
                _restore(a, target)
            s.flush()
            rev.row_version = a.version
        s.flush()

    @staticmethod
    def _chain(s: Session, rev: Revision, undo: bool) -> None:
        """Hand the row's new version to the neighbouring step of the same annotation.

        After undoing ``rev`` the row is as the previous 'done' revision left it; after redoing it, as
        the next 'undone' revision's revert left it. Their ``row_version`` must follow, or the next
        undo/redo of that annotation would see a false conflict.
        """
        if undo:
            q = select(Revision).where(
                Revision.annotation_id == rev.annotation_id, Revision.state == "done", Revision.seq < rev.seq
            )
            q = q.order_by(Revision.seq.desc())
        else:
            q = select(Revision).where(
                Revision.annotation_id == rev.annotation_id,
                Revision.state == "undone",
                Revision.seq > rev.seq,
            )
            q = q.order_by(Revision.seq.asc())
        neighbour = s.scalars(q.limit(1)).first()
        if neighbour is not None:
            neighbour.row_version = rev.row_version

    def undo(self, author: str | None = None) -> RevisionRow | None:
        """Revert the newest 'done' edit (of ``author`` if given); None when there is nothing to undo.

        An edit made in a ``group`` is reverted with its whole group (newest first, one transaction;
        a conflict on any row changes nothing); the returned row is the last one handled."""
        return self._step("undo", "done", "undone", author)

    def redo(self, author: str | None = None) -> RevisionRow | None:
        """Re-apply the oldest 'undone' edit (of ``author`` if given), with its whole group (oldest
        first); None when there is nothing to redo."""
        return self._step("redo", "undone", "done", author)

    def _step(self, what: str, state: str, new_state: str, author: str | None) -> RevisionRow | None:
        undo = what == "undo"
        try:
            with self._writing() as s:
                q = select(Revision).where(Revision.state == state)
                if author is not None:
                    q = q.where(Revision.author == author)
                q = q.order_by(Revision.seq.desc() if undo else Revision.seq.asc()).limit(1)
                rev = s.scalars(q).first()
                if rev is None:
                    return None
                revs = [rev]
                if rev.group_id is not None:  # the whole action: undo newest first, redo oldest first
                    q = select(Revision).where(Revision.group_id == rev.group_id, Revision.state == state)
                    revs = list(s.scalars(q.order_by(Revision.seq.desc() if undo else Revision.seq.asc())))
                for r in revs:
                    self._apply(s, r, r.before if undo else r.after, what)
                    r.state = new_state
                    self._chain(s, r, undo)
                    s.flush()
                return RevisionRow.from_orm(revs[-1])
        except ConflictError:
            raise
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            raise ConflictError(
                None, None, None, what=what,
                detail=f"Cannot {what}: another annotation now occupies the same (video, frame, object) or its "
                f"object was deleted; nothing was changed. ({exc.__cause__.orig})",
            ) from exc  # fmt: skip

    def can_undo(self, author: str | None = None) -> bool:
        return self._has("done", author)

    def can_redo(self, author: str | None = None) -> bool:
        return self._has("undone", author)

    def _has(self, state: str, author: str | None) -> bool:
        q = select(Revision.seq).where(Revision.state == state)
        if author is not None:
            q = q.where(Revision.author == author)
        with self._reading() as s:
            return s.scalar(q.limit(1)) is not None

    def revisions(self, annotation_id: int | None = None, limit: int = 100) -> list[RevisionRow]:
        """Newest first; of one annotation if given."""
        q = select(Revision).order_by(Revision.seq.desc()).limit(limit)
        if annotation_id is not None:
            q = q.where(Revision.annotation_id == annotation_id)
        with self._reading() as s:
            return [RevisionRow.from_orm(r) for r in s.scalars(q)]

    # -- provenance --------------------------------------------------------------------------------
    def start_pipeline_run(self, engine: str, config: dict[str, Any], models: dict[str, Any]) -> int:
        with self._writing() as s:
            run = PipelineRun(
                engine=engine, config=config, models=models, status="running", started_at=utcnow()
            )
            s.add(run)
            s.flush()
            return run.id

    def finish_pipeline_run(self, run_id: int, status: str, timings: dict[str, Any] | None = None) -> None:
        with self._writing() as s:
            run = self._get(s, PipelineRun, run_id, "pipeline run")
            run.status, run.finished_at = status, utcnow()
            if timings is not None:
                run.timings = timings

    def pipeline_runs(self) -> list[PipelineRunRow]:
        with self._reading() as s:
            return [
                PipelineRunRow.from_orm(p) for p in s.scalars(select(PipelineRun).order_by(PipelineRun.id))
            ]

    def add_clip_result(self, run_id: int, video_id: int, frames: list[int], result: dict[str, Any]) -> int:
        """Provenance of one clip: describer texts, LLM prompt/answer, phrases, boxes, scores, timings."""
        with self._writing() as s:
            c = ClipResult(run_id=run_id, video_id=video_id, frames=[int(f) for f in frames], result=result)
            self._get(s, PipelineRun, run_id, "pipeline run")
            self._get(s, Video, video_id, "video")
            s.add(c)
            s.flush()
            return c.id

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
        _check(source, SOURCES, "source")
        return self.write(
            lambda s: replace_proposals(
                s, video_id, frames, shape, run_id=run_id, result=result, author=author, source=source
            )
        )

    def clip_results(self, video_id: int) -> list[ClipResultRow]:
        q = select(ClipResult).where(ClipResult.video_id == video_id).order_by(ClipResult.id)
        with self._reading() as s:
            return [ClipResultRow.from_orm(c) for c in s.scalars(q)]

    def add_training_run(self, name: str, config: dict[str, Any]) -> int:
        try:
            with self._writing() as s:
                t = TrainingRun(name=name, config=config, status="created", metrics={})
                s.add(t)
                s.flush()
                return t.id
        except StoreError as exc:
            if isinstance(exc.__cause__, IntegrityError):
                raise StoreError(
                    f"a training run named {name!r} already exists; choose another name"
                ) from exc
            raise

    def update_training_run(self, run_id: int, **fields: Any) -> TrainingRunRow:
        unknown = set(fields) - TRAINING_UPDATABLE
        if unknown:
            raise TypeError(
                f"update_training_run got unknown fields {sorted(unknown)}; allowed: {sorted(TRAINING_UPDATABLE)}"
            )
        with self._writing() as s:
            t = self._get(s, TrainingRun, run_id, "training run")
            for k, v in fields.items():
                setattr(t, k, v)
            s.flush()
            return TrainingRunRow.from_orm(t)

    def training_runs(self) -> list[TrainingRunRow]:
        with self._reading() as s:
            return [
                TrainingRunRow.from_orm(t) for t in s.scalars(select(TrainingRun).order_by(TrainingRun.id))
            ]

    # -- helpers -----------------------------------------------------------------------------------
    def _get(self, s: Session, model: type[T], ident: int, what: str) -> T:
        obj = s.get(model, ident)
        if obj is None:
            raise NotFoundError(f"{what} {ident} does not exist in {db.describe(self.url)}")
        return obj
