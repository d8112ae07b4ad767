"""Typed errors of the store layer."""

from __future__ import annotations

from typing import Any


class StoreError(Exception):
    """The database could not do what was asked; the message names the file and what to do."""


class ReadOnlyError(StoreError):
    """The store was opened read-only (no write permission, or asked for); nothing was written."""


class ConflictError(StoreError):
    """Another writer changed (or deleted) the annotation first.

    Nothing was written. ``attempted`` holds the fields (incl. the RLE) of the edit that was refused,
    so the caller can re-apply them with ``expected_version=actual_version``.
    """

    def __init__(
        self,
        annotation_id: int | None,
        expected_version: int | None,
        actual_version: int | None,
        attempted: dict[str, Any] | None = None,
        what: str = "edit",
        detail: str | None = None,
    ) -> None:
        self.annotation_id = annotation_id
        self.expected_version = expected_version
        self.actual_version = actual_version
        self.attempted = dict(attempted or {})
        now = "was deleted" if actual_version is None else f"is now at version {actual_version}"
        super().__init__(
            detail
            or f"Annotation {annotation_id} was changed by another writer: this {what} expected version "
            f"{expected_version} but the row {now}. Nothing was written; reload the annotation and "
            f"re-apply the edit (its data is in ConflictError.attempted) with "
            f"expected_version={actual_version}."
        )


class NotFoundError(StoreError, KeyError):
    """No row with that id (or key)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""
