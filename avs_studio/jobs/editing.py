"""A person's mask edit, as the GUI makes it: never overwrites what another annotator stored meanwhile."""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np

from avs_studio.store import AnnotationRow, NotFoundError, Store


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
