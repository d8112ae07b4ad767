"""Several annotators on one database: ids referenced by the undo log are never reused, undo and redo
only ever touch the caller's own edits, and creating a mask never silently overwrites another author's
(issue 10, items 2 and 4). Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
from alembic import command
from sqlalchemy import create_engine, text

from avs_studio.store import ConflictError, Store, db
from tests.unit.store.helpers import box_mask

A = box_mask(0, 4, 0, 4)
B = box_mask(10, 20, 10, 30)


def test_alice_undo_never_deletes_bobs_mask_in_a_reused_slot(open_store, video_obj):
    """Alice creates a mask, Bob deletes it and draws his own in the same place: Bob's mask must not
    get Alice's old id, so Alice's undo conflicts instead of deleting Bob's accepted mask."""
    alice, bob = open_store("alice"), open_store("bob")
    v, o = video_obj
    first = alice.put_annotation(v, 0, o, A, source="manual", status="edited")
    bob.delete_annotation(first.id, expected_version=first.version)
    bobs = bob.put_annotation(v, 0, o, B, source="manual", status="accepted")
    assert bobs.id != first.id  # SQLite without AUTOINCREMENT hands out max(id) + 1 again
    with pytest.raises(ConflictError):
        alice.undo()
    row = bob.annotation(bobs.id)
    assert (row.status, row.author, row.area) == ("accepted", "bob", int(B.sum()))
    assert np.array_equal(row.mask(), B)


def test_ids_stay_unique_across_a_restart(store_url, open_store, video_obj):
    alice = open_store("alice")
    v, o = video_obj
    ids = [alice.put_annotation(v, f, o, A, source="manual", status="edited").id for f in range(3)]
    alice.delete_annotation(ids[-1])
    alice.close()
    with Store(store_url, author="bob") as bob:
        assert bob.put_annotation(v, 9, o, B, source="manual", status="edited").id > max(ids)


def test_undo_and_redo_without_an_author_are_the_stores_own(open_store, video_obj):
    alice, bob = open_store("alice"), open_store("bob")
    v, o = video_obj
    alice.put_annotation(v, 0, o, A, source="manual", status="edited")
    bobs = bob.put_annotation(v, 1, o, B, source="manual", status="edited")
    assert not bob.can_redo() and alice.can_undo() and bob.can_undo()
    rev = alice.undo()  # the newest edit overall is Bob's: Alice's undo must take her own
    assert rev.author == "alice" and rev.annotation_id != bobs.id
    assert [r.frame for r in bob.annotations(v)] == [1]
    assert not bob.can_redo() and alice.can_redo()
    assert bob.redo() is None  # nothing of Bob's to redo; Alice's undone step stays hers
    assert alice.redo().author == "alice"
    assert [r.frame for r in bob.annotations(v)] == [0, 1]
    with alice.group(author="carol"):  # inside a group: the group's author
        alice.put_annotation(v, 2, o, A, source="manual", status="edited")
    assert alice.undo().author == "alice"  # not carol's group
    assert alice.can_undo(author="carol") and alice.undo(author="carol").author == "carol"


def test_create_only_refuses_another_authors_new_mask(open_store, video_obj):
    alice, bob = open_store("alice"), open_store("bob")
    v, o = video_obj
    bobs = bob.put_annotation(v, 0, o, B, source="manual", status="edited", create_only=True)
    with pytest.raises(ConflictError, match="bob") as info:  # Alice saw an empty slot a moment ago
        alice.put_annotation(v, 0, o, A, source="manual", status="edited", create_only=True)
    err = info.value
    assert err.annotation_id == bobs.id and err.actual_version == bobs.version
    assert np.array_equal(np.asarray(alice.annotation(bobs.id).mask()), B)  # nothing overwritten
    assert err.attempted["rle"]["size"] == [48, 64] and err.attempted["author"] == "alice"
    assert [r.author for r in alice.revisions()] == ["bob"]
    # her own mask in flight (a second stroke before the first came back) is hers to replace
    mine = alice.put_annotation(v, 1, o, A, source="manual", status="edited", create_only=True)
    again = alice.put_annotation(v, 1, o, B, source="manual", status="edited", create_only=True)
    assert again.id == mine.id and again.version == mine.version + 1
    with pytest.raises(ValueError, match="expected_version"):
        alice.put_annotation(
            v, 2, o, A, source="manual", status="edited", create_only=True, expected_version=1
        )


def _sqlite_file(url: str) -> str | None:
    return url.removeprefix("sqlite:///") if url.startswith("sqlite") else None


def test_migration_keeps_ids_of_an_existing_project_unique(store_url, video_obj, store: Store):
    """A project made before the fix: the undo log names an id above every row left (the newest
    annotation was deleted). After the upgrade no new row may take that id."""
    v, o = video_obj
    rows = [store.put_annotation(v, f, o, A, source="manual", status="edited") for f in range(3)]
    store.delete_annotation(rows[-1].id)
    store.close()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        command.downgrade(db.alembic_config(conn), "0002")
        if conn.dialect.name == "sqlite":  # as made before: no AUTOINCREMENT, so no sqlite_sequence row
            assert (
                "AUTOINCREMENT"
                not in conn.execute(
                    text("SELECT sql FROM sqlite_master WHERE name = 'annotations'")
                ).scalar_one()
            )
    engine.dispose()
    with Store(store_url, author="alice") as again:  # upgrades on open
        assert [r.id for r in again.annotations(v)] == [rows[0].id, rows[1].id]
        new = again.put_annotation(v, 7, o, B, source="manual", status="edited")
        assert new.id > rows[-1].id
        assert again.undo().annotation_id == new.id and again.undo().action == "delete"
        assert {r.frame for r in again.annotations(v)} == {0, 1, 2}
