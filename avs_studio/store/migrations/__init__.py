"""Alembic migrations of the project database (run by Store.__init__, see avs_studio.store.db)."""
