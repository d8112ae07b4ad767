"""Engine set-up (SQLite pragmas, write transactions), Alembic upgrade, and error translation."""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError, NoSuchModuleError, OperationalError
from sqlalchemy.orm import Session

from avs_studio.store.errors import NotFoundError, StoreError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# synchronous=FULL: in WAL mode every commit fsyncs the WAL, so an edit that returned is on disk even
# after a power cut (NORMAL would only survive an application crash and could lose the last commits
# on power loss). The design promises a power cut loses at most the stroke being drawn; the benchmark
# shows FULL keeps single-edit commits well inside the 15 ms budget.
SQLITE_PRAGMAS = ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL", "PRAGMA foreign_keys=ON")


URL_HELP = "use sqlite:///PATH/project.db or postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE"


def parse(url: str) -> URL:
    """``url`` parsed; StoreError (password hidden) for text that is not a database URL we can use."""
    try:
        u = make_url(url)
    except (ArgumentError, ValueError, TypeError) as exc:
        raise StoreError(f"{url!r} is not a database URL ({exc}); {URL_HELP}") from None
    try:
        u.get_dialect()
    except (NoSuchModuleError, ImportError) as exc:
        raise StoreError(
            f"{u.render_as_string(hide_password=True)} names a database kind or driver AVS Studio cannot use "
            f"({exc}); {URL_HELP}"
        ) from None
    return u


def make_engine(url: str, busy_timeout: float = 5.0, *, read_only: bool = False) -> Engine:
    """Engine for ``url``; SQLite gets WAL, FULL sync, foreign keys and a busy timeout.

    ``read_only``: SQLite is opened with ``mode=ro`` (``immutable`` when no WAL file is there, so a
    folder without write permission works); PostgreSQL sessions are read-only transactions.
    """
    u = parse(url)
    if u.get_backend_name() != "sqlite":
        args = {"options": "-c default_transaction_read_only=on"} if read_only else {}
        try:
            return create_engine(u, pool_pre_ping=True, connect_args=args)
        except ImportError as exc:  # e.g. postgresql:// means psycopg2, which is not installed
            raise StoreError(
                f"the database driver for {u.render_as_string(hide_password=True)} is not installed ({exc}); "
                f"{URL_HELP}"
            ) from None
    if u.database and u.database != ":memory:":
        db_file = Path(u.database)
        if db_file.parent and not db_file.parent.exists():
            raise StoreError(
                f"The folder of the database file {db_file} does not exist; create it or pick another path."
            )
        if db_file.is_file() and db_file.stat().st_size == 0:
            raise StoreError(
                f"The database file {db_file} is empty (0 bytes): it was cut short (a crash, a full disk or a "
                f"sync tool). Restore it from a backup; AVS Studio will not start a new database over it."
            )
        if read_only:
            if not db_file.is_file():
                raise StoreError(f"The database file {db_file} does not exist; nothing to open read-only.")
            # mode=ro sees other writers' commits but needs the -shm file, which SQLite creates; in a folder
            # without write permission and no -wal file, nobody is writing and the file holds every commit.
            wal = db_file.with_name(db_file.name + "-wal")
            mode = "mode=ro" if wal.exists() or os.access(db_file.parent, os.W_OK) else "immutable=1"
            u = u.set(database=f"file:{db_file.resolve().as_posix()}?{mode}", query={"uri": "true"})
    engine = create_engine(u, connect_args={"check_same_thread": False, "timeout": busy_timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        for pragma in () if read_only else SQLITE_PRAGMAS:
            cur.execute(pragma)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front (BEGIN IMMEDIATE): the version check and the write then
        # see the same snapshot, and a second writer waits for busy_timeout instead of failing with
        # SQLITE_BUSY_SNAPSHOT half-way. Readers use a plain deferred BEGIN and never block.
        if conn.get_execution_options().get("avs_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

    return engine


def describe(url: str) -> str:
    try:
        u = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return f"the database {url!r}"
    if u.get_backend_name() == "sqlite":
        return f"the database file {u.database}"
    return f"the database {u.render_as_string(hide_password=True)}"


def translate(exc: Exception, url: str) -> StoreError:
    """A DBAPI error -> StoreError naming the file (or server) and what to do."""
    where = describe(url)
    if isinstance(exc, IntegrityError):
        return StoreError(
            f"{where} refused the change (a row with the same key exists or a referenced row is missing): {exc.orig}"
        )
    msg = str(getattr(exc, "orig", exc)).lower()
    if "locked" in msg or "busy" in msg:
        return StoreError(
            f"{where} is locked by another program (another AVS Studio window, a backup or sync tool, or "
            f"a crashed process still holding it). Close that program and try again; nothing was written."
        )
    if "not a database" in msg or "malformed" in msg or "file is encrypted" in msg:
        return StoreError(
            f"{where} is not a readable AVS Studio database (damaged or a different kind of file). "
            f"Restore it from a backup or open another project."
        )
    if "unable to open" in msg or "readonly" in msg or "read-only" in msg or "permission" in msg:
        return StoreError(
            f"{where} cannot be opened for writing (missing folder or no permission). Check the path and "
            f"its permissions."
        )
    if isinstance(exc, OperationalError):
        return StoreError(
            f"{where} failed: {getattr(exc, 'orig', exc)}. Check that the database is reachable."
        )
    return StoreError(f"{where}: {getattr(exc, 'orig', exc)}")


@contextlib.contextmanager
def translated(url: str) -> Iterator[None]:
    try:
        yield
    except DBAPIError as exc:
        raise translate(exc, url) from exc


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache  # parsing the migration scripts costs more than opening the database
def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def upgrade(engine: Engine, *, read_only: bool = False) -> None:
    """Bring the schema to the newest Alembic revision (reads only when it is already there)."""
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    if current == head_revision():
        return
    if read_only:
        raise StoreError(
            f"{describe(str(engine.url))} needs an upgrade (schema {current or 'none'}, this version uses "
            f"{head_revision()}) and is open read-only; open it once with write access"
        )
    with engine.execution_options(avs_write=True).connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # a table rebuild (batch mode) must not cascade: foreign keys off, checked at the end
            _driver(conn).execute("PRAGMA foreign_keys=OFF")  # outside a transaction
        try:
            with conn.begin():
                if not sqlite:  # two apps opening a fresh database: one migrates, one waits
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(74140001)")
                command.upgrade(alembic_config(conn), "head")  # re-reads the version under the lock
                if sqlite and conn.exec_driver_sql("PRAGMA foreign_key_check").first() is not None:
                    raise StoreError(
                        "the database upgrade would leave rows pointing at missing rows; nothing was changed"
                    )
        finally:
            if sqlite:
                _driver(conn).execute("PRAGMA foreign_keys=ON")


def _driver(conn: Connection) -> Any:
    """The DB-API connection under ``conn`` (for statements that must run outside a transaction)."""
    driver = conn.connection.driver_connection
    if driver is None:
        raise StoreError("the database connection is closed")
    return driver


def get(s: Session, model: type, ident: int, what: str, where: str) -> Any:
    """The row ``ident`` of ``model``; NotFoundError naming it and the database (``where``) otherwise."""
    obj = s.get(model, ident)
    if obj is None:
        raise NotFoundError(f"{what} {ident} does not exist in {where}")
    return obj
