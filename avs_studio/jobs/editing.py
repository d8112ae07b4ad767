"""A person's mask edit, as the GUI makes it: never overwrites what another annotator stored meanwhile."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from avs_studio.store import AnnotationRow, ConflictError, NotFoundError, Store


def save_mask(
    store: Store,
    video_id: int,
    frame: int,
    object_id: int | None,
    mask: np.ndarray,
    *,
    seen: AnnotationRow | None,
    empty: AnnotationRow | None = None,
    status: str = "edited",
    author: str | None = None,
) -> AnnotationRow:
    """Store ``mask`` for (video, frame, object) as one transaction and ONE undo step.

    ``seen``: the row the person was editing (None: there was none). Its version is expected, so a
    change by someone else since raises ConflictError; with none seen the mask is created only if no
    other author created one meanwhile (ConflictError otherwise). ``empty``: the explicit "nothing
    sounds here" row of that frame the person saw; a non-empty mask contradicts it, so it is removed
    (if still at the version seen). Nothing is written when anything conflicts; the refused mask is
    in ``ConflictError.attempted``.
    """
    source = seen.source if seen is not None else "manual"
    expected: dict[str, Any] = (
        {"expected_version": seen.version} if seen is not None else {"create_only": True}
    )
    with store.group(author):
        row = store.put_annotation(video_id, frame, object_id, mask, source=source, status=status, **expected)
        if empty is not None and np.any(mask):
            with contextlib.suppress(NotFoundError):  # someone removed it already
                store.delete_annotation(empty.id, expected_version=empty.version)
    return row


def delete_object(
    store: Store, video_id: int, object_id: int, *, seen: Mapping[int, int] | None = None
) -> None:
    """Delete an object and its masks, unless another author stored or changed one of its masks since
    ``seen`` ({annotation id: version} the person last saw): ConflictError then, nothing deleted."""
    if seen is not None:
        rows = [r for r in store.annotations(video_id=video_id) if r.object_id == object_id]
        unseen(store, rows, seen, "deletion")
    store.delete_object(object_id)


def unseen(store: Store, rows: Sequence[AnnotationRow], seen: Mapping[int, int], what: str) -> None:
    """ConflictError for the first of ``rows`` another author stored or changed since ``seen``
    ({annotation id: version} as last read by this author)."""
    for r in rows:
        if seen.get(r.id) != r.version and r.author != store.author:
            attempted = {"video_id": r.video_id, "frame": r.frame, "object_id": r.object_id}
            raise ConflictError(r.id, seen.get(r.id), r.version, attempted, what)


def conflict_message(store: Store, exc: ConflictError, what: str = "edit") -> str:
    """A refused write, in a person's words: who changed which object's mask on which frame (1-based),
    that nothing was overwritten, and to reload to see their change."""
    a = exc.attempted
    row = None
    if exc.annotation_id is not None:
        with contextlib.suppress(NotFoundError):
            row = store.annotation(exc.annotation_id)
    vid = a.get("video_id", row.video_id if row else None)
    frame = a.get("frame", row.frame if row else None)
    oid = a.get("object_id", row.object_id if row else None)
    if row is None and vid is not None and frame is not None:
        row = next((r for r in store.annotations(video_id=vid, frame=frame) if r.object_id == oid), None)
    label = "nothing sounds here" if oid is None else f"object {oid}"
    if vid is not None and oid is not None:
        label = next((o.label for o in store.objects(vid) if o.id == oid), label)
    who = (row.author if row is not None else None) or "Another annotator"
    done = "deleted" if row is None and exc.annotation_id is not None else "changed"
    where = f" on frame {int(frame) + 1}" if frame is not None else ""
    return (
        f"{who} {done} the mask of “{label}”{where} after you last saw it. Your {what} was not stored and "
        f"nothing of theirs was overwritten. Reload to see their change (the window has reloaded it), then "
        f"redo yours on top if still needed."
    )
