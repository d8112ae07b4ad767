"""Project settings (JSON values by key). Secrets never reach the database: an "api_key" field of a
setting is kept in the user's own key store (avs_studio.keystore) and filled back in on reading, for
this user only. Keys found in a database written before this rule are moved out when it is opened.
"""

from __future__ import annotations

import copy
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from avs_studio import keystore
from avs_studio.store.errors import StoreError
from avs_studio.store.models import Setting

SECRET = "api_key"


def check_key(key: object) -> str:
    if not isinstance(key, str) or not key.strip() or len(key) > 200 or not key.isprintable():
        raise ValueError(f"setting key {key!r} must be printable text of 1 to 200 characters")
    return key


def _walk(value: Any, fn: Any) -> Any:
    """A deep copy of ``value`` with ``fn(d)`` applied to every dict that has a SECRET field."""
    value = copy.deepcopy(value)
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if SECRET in item:
                fn(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return value


def move_secrets(value: Any) -> Any:
    """``value`` without secrets (each moved into the user's key store, by the sibling "base_url")."""

    def move(d: dict[str, Any]) -> None:
        key = d.get(SECRET)
        if isinstance(key, str) and key:
            try:
                keystore.set_api_key(d.get("base_url"), key)
            except keystore.KeyStoreError as exc:
                raise StoreError(
                    f"{exc}; the API key was not stored anywhere (never in the project)"
                ) from exc
        d[SECRET] = ""

    return _walk(value, move)


def fill_secrets(value: Any) -> Any:
    """``value`` with empty secrets filled from this user's key store."""

    def fill(d: dict[str, Any]) -> None:
        if not d.get(SECRET):
            try:
                d[SECRET] = keystore.get_api_key(d.get("base_url")) or ""
            except keystore.KeyStoreError:
                d[SECRET] = ""

    return _walk(value, fill)


def has_secret(value: Any) -> bool:
    found: list[bool] = []
    _walk(value, lambda d: found.append(bool(d.get(SECRET))))
    return any(found)


def get(s: Session, key: str, default: Any) -> Any:
    row = s.get(Setting, key)
    return default if row is None else fill_secrets(row.value)


def put(s: Session, key: str, value: Any) -> None:
    """``value`` must already be free of secrets (``move_secrets``, outside the transaction)."""
    row = s.get(Setting, check_key(key))
    if row is None:
        s.add(Setting(key=key, value=value))
    else:
        row.value = value


def holding_secrets(s: Session) -> list[tuple[str, Any]]:
    return [(row.key, row.value) for row in s.scalars(select(Setting)) if has_secret(row.value)]
