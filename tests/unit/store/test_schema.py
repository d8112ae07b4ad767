"""The Alembic head creates exactly the schema the models declare; SQLite runs with the promised pragmas."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from avs_studio.store import Store, db
from avs_studio.store.models import Base


def test_migrations_match_models(store_url):
    Store(store_url).close()  # runs the migrations
    engine = create_engine(store_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert ctx.get_current_revision() == db.head_revision()
        assert compare_metadata(ctx, Base.metadata) == []
        names = set(inspect(conn).get_table_names())
    engine.dispose()
    assert names == set(Base.metadata.tables) | {"alembic_version"}


def test_reopen_does_not_migrate_again(store_url):
    Store(store_url).close()
    with Store(store_url) as s:
        s.set_setting("a", 1)
    with Store(store_url) as s:
        assert s.get_setting("a") == 1


def test_sqlite_pragmas(tmp_path):
    with Store(f"sqlite:///{tmp_path / 'p.db'}") as s:

        def pragmas(session):
            return [session.connection().exec_driver_sql(f"PRAGMA {p}").scalar()
                    for p in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")]  # fmt: skip

        assert s.write(pragmas) == ["wal", 2, 1, 5000]  # synchronous 2 = FULL


def test_migrations_ship_inside_the_package():
    assert (db.MIGRATIONS / "env.py").is_file() and (db.MIGRATIONS / "script.py.mako").is_file()
    assert db.MIGRATIONS.parent.name == "store" and list((db.MIGRATIONS / "versions").glob("0001_*.py"))
