"""Jobs tests that need a database run on SQLite and, when AVS_TEST_DATABASE_URL is set, PostgreSQL."""

import pytest

from avs_studio.jobs import init_project
from tests.unit.io.conftest import imported  # noqa: F401
from tests.unit.store.conftest import open_store, store_url  # noqa: F401


@pytest.fixture
def any_project(store_url, tmp_path):  # noqa: F811
    """A project on the test database (SQLite: the project's own file; PostgreSQL: from an empty schema)."""
    url = None if store_url.startswith("sqlite") else store_url
    project = init_project(tmp_path / "proj", url)
    yield project
    project.close()
