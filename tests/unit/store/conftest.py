"""Fixtures for the store tests: every test runs on SQLite, and on PostgreSQL when
AVS_TEST_DATABASE_URL is set (each PostgreSQL test starts from an empty schema)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import MetaData, create_engine

from avs_studio.store import Store
from tests.unit.store.helpers import VIDEO

PG_URL = os.environ.get("AVS_TEST_DATABASE_URL")
PG_SKIP = "AVS_TEST_DATABASE_URL is not set (start a PostgreSQL server as ENVIRONMENT.md shows to run these)"


def _empty_postgres(url: str) -> None:
    engine = create_engine(url)
    md = MetaData()
    md.reflect(engine)  # includes alembic_version
    md.drop_all(engine)
    engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'project.db'}"
    if not PG_URL:
        pytest.skip(PG_SKIP)
    _empty_postgres(PG_URL)
    return PG_URL


@pytest.fixture
def open_store(store_url: str) -> Iterator[Callable[..., Store]]:
    """Open Stores on the test database; all are closed at the end."""
    opened: list[Store] = []

    def _open(author: str = "alice", **kw) -> Store:
        s = Store(store_url, author=author, **kw)
        opened.append(s)
        return s

    yield _open
    for s in opened:
        s.close()


@pytest.fixture
def store(open_store) -> Store:
    return open_store()


@pytest.fixture
def video_obj(store: Store) -> tuple[int, int]:
    v = store.add_video(VIDEO, split="train", category="dog")
    return v, store.add_object(v, "dog")
