"""Jobs tests that need a database run on SQLite and, when AVS_TEST_DATABASE_URL is set, PostgreSQL."""

from tests.unit.store.conftest import open_store, store_url  # noqa: F401
