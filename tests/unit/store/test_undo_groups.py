"""Grouped undo: one user action over many rows (accept a clip) is one transaction, one undo step and
one redo step, also after a restart; a conflict on any row of the group changes nothing."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from avs_studio.store import ConflictError, Store, db
from tests.unit.store.helpers import box_mask

A = box_mask(0, 4, 0, 4)
B = box_mask(10, 20, 10, 30)
FRAMES = [0, 25, 50, 75, 100]


def _proposals(store: Store, v: int, o: int) -> list[int]:
    """Five proposed masks (bulk insert: no undo steps of their own), ids in frame order."""
    store.add_annotations(
        [{"video_id": v, "frame": f, "object_id": o, "mask": A} for f in FRAMES],
        source="proposal",
        status="proposed",
    )
    return [r.id for r in store.annotations(v)]


def _statuses(store: Store, ids: list[int]) -> list[str]:
    return [store.annotation(i).status for i in ids]


def _accept_all(store: Store, ids: list[int]) -> None:
    with store.group():
        for i in ids:
            row = store.annotation(i)
            store.set_status(i, "accepted", expected_version=row.version)


def test_group_is_one_undo_and_one_redo_step_across_restart(open_store, video_obj):
    first = open_store()
    v, o = video_obj
    ids = _proposals(first, v, o)
    single_before = first.put_annotation(v, 200, o, B, source="manual", status="edited")
    _accept_all(first, ids)
    single_after = first.put_annotation(v, 225, o, B, source="manual", status="edited")
    assert _statuses(first, ids) == ["accepted"] * 5

    revs = first.revisions()  # newest first
    assert [r.group_id for r in revs[:1] + revs[-1:]] == [None, None]  # single edits stand alone
    grouped = revs[1:6]
    assert {r.group_id for r in grouped} == {min(r.seq for r in grouped)}
    assert sorted(r.annotation_id for r in grouped) == ids

    assert first.undo().annotation_id == single_after.id  # the later single edit: its own step
    assert [r.frame for r in first.annotations(v)] == [*FRAMES, 200]
    assert _statuses(first, ids) == ["accepted"] * 5
    rev = first.undo()  # ONE undo restores all five
    assert rev.group_id is not None and rev.state == "undone" and rev.annotation_id == ids[0]
    assert _statuses(first, ids) == ["proposed"] * 5
    assert all(first.annotation(i).reviewed_by is None for i in ids)
    assert first.can_undo()  # the earlier single edit is still there, its own step
    first.close()

    second = open_store()  # restart: the group survives in the database
    assert second.redo().group_id is not None  # ONE redo accepts all five again
    assert _statuses(second, ids) == ["accepted"] * 5
    assert [r.frame for r in second.annotations(v)] == [*FRAMES, 200]
    assert second.undo().group_id is not None
    assert _statuses(second, ids) == ["proposed"] * 5
    assert second.undo().annotation_id == single_before.id
    assert second.annotations(v, frame=200) == [] and second.undo() is None
    assert _statuses(second, ids) == ["proposed"] * 5
    # redo walks forward: single, group (all five), single
    assert second.redo().annotation_id == single_before.id and _statuses(second, ids) == ["proposed"] * 5
    assert second.redo().group_id is not None and _statuses(second, ids) == ["accepted"] * 5
    assert second.redo().annotation_id == single_after.id and second.redo() is None
    assert [r.frame for r in second.annotations(v)] == [*FRAMES, 200, 225]


def test_conflict_on_one_row_leaves_the_whole_group_unchanged(open_store, video_obj):
    alice = open_store("alice")
    bob = open_store("bob")
    v, o = video_obj
    ids = _proposals(alice, v, o)
    _accept_all(alice, ids)
    bob.set_status(ids[2], "rejected")  # bob changes one row of alice's group
    before = [alice.annotation(i) for i in ids]
    with pytest.raises(ConflictError, match="changed since") as info:
        alice.undo(author="alice")
    assert info.value.annotation_id == ids[2]
    after = [alice.annotation(i) for i in ids]
    assert after == before  # nothing changed, not even the rows undone before the conflict
    assert _statuses(alice, ids) == ["accepted", "accepted", "rejected", "accepted", "accepted"]
    assert [r.state for r in alice.revisions() if r.author == "alice"] == ["done"] * 5
    assert alice.can_undo(author="alice") and not alice.can_redo(author="alice")
    # once bob's edit is undone, alice's group undoes as one step again
    bob.undo(author="bob")
    alice.undo(author="alice")
    assert _statuses(alice, ids) == ["proposed"] * 5


def test_group_is_one_transaction(store: Store, video_obj):
    v, o = video_obj
    ids = _proposals(store, v, o)
    with pytest.raises(RuntimeError), store.group():
        store.set_status(ids[0], "accepted")
        store.put_annotation(v, 300, o, B, source="manual", status="edited")
        raise RuntimeError("the action failed half-way")
    assert _statuses(store, ids) == ["proposed"] * 5 and store.annotations(v, frame=300) == []
    assert store.revisions() == [] and not store.can_undo()
    # a conflict inside the group fails the group the same way (a stale version of row 3)
    stale = store.annotation(ids[3]).version
    store.set_status(ids[3], "edited")
    with pytest.raises(ConflictError), store.group():
        for i in ids:
            store.set_status(i, "accepted", expected_version=stale if i == ids[3] else None)
    assert _statuses(store, ids) == ["proposed", "proposed", "proposed", "edited", "proposed"]


def test_caught_error_in_group_undoes_only_that_call_and_nesting_is_flat(store: Store, video_obj):
    v, o = video_obj
    ids = _proposals(store, v, o)
    with store.group(author="carol"):
        store.set_status(ids[0], "accepted")
        with pytest.raises(ConflictError):
            store.set_status(ids[1], "accepted", expected_version=99)
        with store.group():  # nested: the same group
            store.set_status(ids[2], "rejected")
        store.put_annotation(v, 0, o, B, source="manual", status="edited")  # same row twice in one group
    assert _statuses(store, ids) == ["edited", "proposed", "rejected", "proposed", "proposed"]
    revs = store.revisions()
    assert len(revs) == 3 and len({r.group_id for r in revs}) == 1 and {r.author for r in revs} == {"carol"}
    store.undo(author="carol")
    assert _statuses(store, ids) == ["proposed"] * 5 and store.annotation(ids[0]).area == A.sum()
    store.redo(author="carol")
    assert _statuses(store, ids) == ["edited", "proposed", "rejected", "proposed", "proposed"]
    assert store.annotation(ids[0]).area == B.sum()


def test_two_stores_on_one_database_get_distinct_groups(open_store, video_obj):
    one, two = open_store("ann"), open_store("ben")
    v, o = video_obj
    ids = _proposals(one, v, o)
    with one.group():
        one.set_status(ids[0], "accepted")
        one.set_status(ids[1], "accepted")
    with two.group():
        two.set_status(ids[2], "rejected")
        two.set_status(ids[3], "rejected")
    groups = {r.author: r.group_id for r in one.revisions()}
    assert groups["ann"] != groups["ben"] and None not in groups.values()
    assert one.undo(author="ann").group_id == groups["ann"]
    assert _statuses(one, ids) == ["proposed", "proposed", "rejected", "rejected", "proposed"]


def test_migration_adds_group_id_to_an_existing_database(store_url, video_obj, store: Store):
    v, o = video_obj
    a = store.put_annotation(v, 0, o, A, source="manual", status="edited")
    store.close()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        command.downgrade(db.alembic_config(conn), "0001")
    with engine.connect() as conn:
        assert "group_id" not in {c["name"] for c in inspect(conn).get_columns("revisions")}
    engine.dispose()
    with Store(store_url, author="alice") as again:  # upgrades to 0002 on open
        assert again.revisions()[0].group_id is None
        assert again.undo().annotation_id == a.id and again.annotations(v) == []
