"""Undo/redo replays stored revisions: create, update, status change, delete, and across a restart."""

from __future__ import annotations

import numpy as np
import pytest

from avs_studio.store import ConflictError, Store
from tests.unit.store.helpers import box_mask

A = box_mask(0, 4, 0, 4)
B = box_mask(10, 20, 10, 30)


def _state(store: Store, v: int) -> list[tuple]:
    return [(r.frame, r.object_id, r.area, r.status) for r in store.annotations(v)]


def test_undo_redo_create_update_status_delete(store: Store, video_obj):
    v, o = video_obj
    assert store.undo() is None and store.redo() is None and not store.can_undo()
    a = store.put_annotation(v, 0, o, A, source="proposal", status="proposed")  # create
    store.put_annotation(v, 0, o, B, source="manual", status="edited")  # update
    store.set_status(a.id, "accepted")  # status
    store.delete_annotation(a.id)  # delete
    states = [[], [(0, o, 16, "proposed")], [(0, o, 200, "edited")], [(0, o, 200, "accepted")], []]
    for expected_action, expected in zip(
        ["delete", "status", "update", "create"], reversed(states[:-1]), strict=True
    ):
        rev = store.undo()
        assert rev.action == expected_action and rev.state == "undone"
        assert _state(store, v) == expected
    assert store.undo() is None and store.can_redo() and not store.can_undo()
    for expected_action, expected in zip(["create", "update", "status", "delete"], states[1:], strict=True):
        rev = store.redo()
        assert rev.action == expected_action and rev.state == "done"
        assert _state(store, v) == expected
    assert store.redo() is None and not store.can_redo()
    # undo the delete: the row comes back under its old id, with the mask from the snapshot
    store.undo()
    back = store.annotation(a.id)
    assert np.array_equal(back.mask(), B) and back.status == "accepted" and back.reviewed_by == "alice"
    assert back.version > 3  # a version the row never had, so stale writers still conflict


def test_new_edit_after_undo_discards_redo(store: Store, video_obj):
    v, o = video_obj
    store.put_annotation(v, 0, o, A, source="manual", status="edited")
    store.put_annotation(v, 0, o, B, source="manual", status="edited")
    store.undo()
    assert store.can_redo()
    store.put_annotation(v, 1, o, A, source="manual", status="edited")
    assert not store.can_redo() and store.redo() is None
    assert [r.state for r in store.revisions()] == ["done", "discarded", "done"]
    store.undo()
    store.undo()
    assert store.annotations(v) == []


def test_undo_survives_restart(open_store, video_obj):
    first = open_store()
    v, o = video_obj
    a = first.put_annotation(v, 5, o, A, source="manual", status="edited")
    first.put_annotation(v, 5, o, B, source="manual", status="edited")
    first.undo()
    first.close()
    second = open_store()
    assert second.can_redo() and second.can_undo()
    assert second.redo().action == "update" and second.annotation(a.id).area == 200
    second.undo()
    second.undo()
    assert second.annotations(v) == []
    second.close()
    third = open_store()
    assert third.redo().action == "create" and np.array_equal(third.annotations(v)[0].mask(), A)


def test_undo_per_author(store: Store, video_obj):
    v, o = video_obj
    store.put_annotation(v, 0, o, A, source="manual", status="edited", author="ann")
    store.put_annotation(v, 1, o, B, source="manual", status="edited", author="ben")
    assert store.undo(author="ann").annotation_id == store.revisions()[-1].annotation_id
    assert [r.frame for r in store.annotations(v)] == [1]
    assert store.can_redo(author="ann") and not store.can_redo(author="ben")
    store.put_annotation(v, 2, o, A, source="manual", status="edited", author="ben")
    assert store.can_redo(author="ann")  # ben's edit does not drop ann's redo
    store.redo(author="ann")
    assert [r.frame for r in store.annotations(v)] == [0, 1, 2]


def test_undo_refuses_when_row_changed_by_other_author(store: Store, video_obj):
    v, o = video_obj
    store.put_annotation(v, 0, o, A, source="manual", status="edited", author="ann")
    b = store.put_annotation(v, 0, o, B, source="manual", status="edited", author="ben")
    with pytest.raises(ConflictError, match="changed since") as info:
        store.undo(author="ann")  # would silently wipe ben's newer mask
    assert info.value.actual_version == b.version
    assert store.annotation(b.id).area == 200 and store.can_undo(author="ann")
    assert store.undo(author="ben").action == "update"
    assert store.undo(author="ann").action == "create" and store.annotations(v) == []


def test_undo_of_delete_refused_when_slot_reused(store: Store, video_obj):
    v, o = video_obj
    a = store.put_annotation(v, 0, o, A, source="manual", status="edited", author="ann")
    store.delete_annotation(a.id, author="ann")
    store.put_annotation(v, 0, o, B, source="manual", status="edited", author="ben")
    with pytest.raises(ConflictError):
        store.undo(author="ann")
    assert _state(store, v) == [(0, o, 200, "edited")]
