"""ids never reused: AUTOINCREMENT on SQLite for the rows the undo log names (annotations, objects)

SQLite hands out max(id) + 1, so deleting the newest annotation and creating another gave the new row
the old id, and an undo recorded for the old row then hit the new one (another author's mask).
PostgreSQL sequences never go back: nothing to do there. The sequence of each table is seeded above
every id the undo log has ever named, so an id deleted before this migration is not handed out either.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# the highest id of each table the undo log names (rows themselves, or revision snapshots)
HIGHEST = {
    "annotations": (
        "SELECT max(x) FROM (SELECT max(id) AS x FROM annotations "
        "UNION ALL SELECT max(annotation_id) FROM revisions)"
    ),
    "objects": (
        "SELECT max(x) FROM (SELECT max(id) AS x FROM objects "
        "UNION ALL SELECT max(CAST(json_extract(before, '$.object_id') AS INTEGER)) FROM revisions "
        "UNION ALL SELECT max(CAST(json_extract(after, '$.object_id') AS INTEGER)) FROM revisions)"
    ),
}


def _recreate(autoincrement: bool) -> None:
    for table in HIGHEST:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    _recreate(True)
    for table, query in HIGHEST.items():
        high = conn.execute(sa.text(query)).scalar() or 0
        conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table})
        conn.execute(sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES (:t, :s)"), {"t": table, "s": high})


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _recreate(False)
