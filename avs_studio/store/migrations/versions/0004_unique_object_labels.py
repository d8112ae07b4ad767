"""unique object labels per video: (video_id, label) is unique

Two imports running at once could each create the object "dog" of a video. Duplicates already in a
project are resolved without losing a mask: a duplicate whose masks never disagree with the first
object's (no shared frame, or the same mask there) is merged into it (undo steps of the moved masks are
dropped, as Store.merge_objects does); otherwise it is renamed "label (2)", "label (3)", ...

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 19:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

objects = sa.table(
    "objects", sa.column("id"), sa.column("video_id"), sa.column("label"), sa.column("index"), sa.column("version")
)
annotations = sa.table(
    "annotations", sa.column("id"), sa.column("object_id"), sa.column("frame"), sa.column("counts"),
    sa.column("height"), sa.column("width"), sa.column("version"),
)  # fmt: skip
revisions = sa.table("revisions", sa.column("annotation_id"), sa.column("state"))


def _resolve(conn, video_id: int, label: str) -> None:
    rows = conn.execute(
        sa.select(objects.c.id).where(objects.c.video_id == video_id, objects.c.label == label).order_by(objects.c.index)
    ).all()
    keep = rows[0].id
    taken = set(conn.execute(sa.select(objects.c.label).where(objects.c.video_id == video_id)).scalars())
    for (dup,) in rows[1:]:
        mine = {
            r.frame: r
            for r in conn.execute(sa.select(annotations).where(annotations.c.object_id == keep)).all()
        }
        theirs = conn.execute(sa.select(annotations).where(annotations.c.object_id == dup)).all()
        same = all(
            (r.counts, r.height, r.width) == (mine[r.frame].counts, mine[r.frame].height, mine[r.frame].width)
            for r in theirs
            if r.frame in mine
        )
        if not same:  # the masks disagree somewhere: keep both objects, under distinct names
            n = 2
            while f"{label} ({n})" in taken:
                n += 1
            taken.add(f"{label} ({n})")
            conn.execute(sa.update(objects).where(objects.c.id == dup).values(label=f"{label} ({n})"))
            continue
        ids = [r.id for r in theirs]
        twins = [r.id for r in theirs if r.frame in mine]
        if ids:
            conn.execute(
                sa.update(revisions).where(revisions.c.annotation_id.in_(ids)).values(state="discarded")
            )
        if twins:
            conn.execute(sa.delete(annotations).where(annotations.c.id.in_(twins)))
        conn.execute(
            sa.update(annotations)
            .where(annotations.c.object_id == dup)
            .values(object_id=keep, version=annotations.c.version + 1)
        )
        conn.execute(sa.delete(objects).where(objects.c.id == dup))


def upgrade() -> None:
    conn = op.get_bind()
    dups = conn.execute(
        sa.select(objects.c.video_id, objects.c.label)
        .group_by(objects.c.video_id, objects.c.label)
        .having(sa.func.count() > 1)
    ).all()
    for video_id, label in dups:
        _resolve(conn, video_id, label)
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:  # the rebuild below would reset the id sequence that migration 0003 seeded
        seq = conn.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'objects'")).scalar() or 0
    with op.batch_alter_table("objects", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_objects_video_id_label"), ["video_id", "label"])
    if sqlite:
        now = conn.execute(sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'objects'")).scalar() or 0
        conn.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'objects'"))
        conn.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('objects', :s)"), {"s": max(seq, now)}
        )


def downgrade() -> None:
    with op.batch_alter_table("objects", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_objects_video_id_label"), type_="unique")
