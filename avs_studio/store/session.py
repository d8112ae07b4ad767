"""Transactions of one Store: short read transactions, write transactions (BEGIN IMMEDIATE on SQLite),
and ``group``: one transaction shared by every write of a thread, each write in a savepoint."""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from avs_studio.store import db
from avs_studio.store.errors import ConflictError, ReadOnlyError, StoreError

T = TypeVar("T")


@dataclasses.dataclass
class Group:
    """An open group: its transaction, default author and id (set by its first revision)."""

    session: Session
    author: str | None
    id: int | None = None


def _stale(exc: StaleDataError) -> ConflictError:
    return ConflictError(None, None, None, detail=f"Another writer changed the same row first: {exc}")


class Transactions:
    def __init__(self, engine: Engine, url: str, read_only: str) -> None:
        self.url, self.read_only = url, read_only
        self._read = sessionmaker(engine, expire_on_commit=False)
        self._writer = sessionmaker(engine.execution_options(avs_write=True), expire_on_commit=False)
        self._local = threading.local()  # the open group of each thread

    def _refuse_if_read_only(self) -> None:
        if self.read_only:
            where = db.describe(self.url)
            raise ReadOnlyError(f"{where} is read-only here ({self.read_only}); nothing was changed")

    def current(self) -> Group | None:
        return getattr(self._local, "group", None)

    def read(self, fn: Callable[[Session], T]) -> T:
        with db.translated(self.url), self._read() as s, s.begin():
            return fn(s)

    @contextlib.contextmanager
    def writing(self) -> Iterator[Session]:
        self._refuse_if_read_only()
        group = self.current()
        try:
            if group is not None:  # inside a group: a savepoint of the group's transaction
                with db.translated(self.url), group.session.begin_nested():
                    yield group.session
            else:
                with db.translated(self.url), self._writer() as s, s.begin():
                    yield s
        except StaleDataError as exc:  # a concurrent writer won between our read and our UPDATE
            raise _stale(exc) from exc

    def write(self, fn: Callable[[Session], T]) -> T:
        with self.writing() as s:
            return fn(s)

    def write_or(self, fn: Callable[[Session], T], refused: Callable[[str], Exception]) -> T:
        """``write(fn)``; a unique/foreign-key refusal of the database raises ``refused(its reason)``."""
        try:
            return self.write(fn)
        except StoreError as exc:
            if not isinstance(exc.__cause__, IntegrityError):
                raise
            raise refused(str(exc.__cause__.orig)) from exc

    def retrying(self, fn: Callable[[Session], T], attempts: int = 3) -> T:
        """``write(fn)``, again when a concurrent writer inserted the same unique key first (PostgreSQL;
        SQLite writers are serialised)."""
        for attempt in range(attempts):
            try:
                return self.write(fn)
            except StoreError as exc:
                if not isinstance(exc.__cause__, IntegrityError) or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def group(self, author: str | None) -> Iterator[None]:
        if self.current() is not None:  # nesting is flat
            yield
            return
        self._refuse_if_read_only()
        try:
            with db.translated(self.url), self._writer() as s, s.begin():
                self._local.group = Group(s, author)
                try:
                    yield
                finally:
                    self._local.group = None
        except StaleDataError as exc:
            raise _stale(exc) from exc
