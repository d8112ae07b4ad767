"""jobs.editing.save_mask: a person's stroke never silently replaces another annotator's mask."""

from __future__ import annotations

import numpy as np
import pytest

from avs_studio.jobs.editing import save_mask
from avs_studio.store import ConflictError
from tests.unit.store.helpers import VIDEO, box_mask

A = box_mask(0, 4, 0, 4)
B = box_mask(10, 20, 10, 30)


@pytest.fixture
def two(open_store):
    alice, bob = open_store("alice"), open_store("bob")
    v = alice.add_video(VIDEO)
    return alice, bob, v, alice.add_object(v, "dog")


def test_new_mask_is_create_only(two):
    alice, bob, v, o = two
    bobs = save_mask(bob, v, 0, o, B, seen=None)
    with pytest.raises(ConflictError, match="bob stored a mask"):
        save_mask(alice, v, 0, o, A, seen=None)  # she saw an empty slot
    assert np.array_equal(alice.annotation(bobs.id).mask(), B)


def test_edit_expects_the_version_seen_and_replaces_the_empty_row_in_one_step(two):
    alice, bob, v, o = two
    empty = bob.put_annotation(v, 3, None, np.zeros((48, 64), bool), source="manual", status="accepted")
    mine = save_mask(alice, v, 3, o, A, seen=None, empty=empty)
    assert [(r.object_id, r.area) for r in alice.annotations(v, frame=3)] == [(o, 16)]
    newest = alice.revisions(limit=2)  # her mask and the removed empty row: one undo step
    assert [r.action for r in newest] == ["delete", "create"] and newest[0].group_id == newest[1].group_id
    changed = bob.put_annotation(v, 3, o, B, source="manual", status="edited", expected_version=mine.version)
    with pytest.raises(ConflictError):
        save_mask(alice, v, 3, o, A, seen=mine)  # Bob changed it since she looked
    assert alice.annotation(mine.id).version == changed.version and alice.annotation(mine.id).area == 200
    with pytest.raises(ConflictError):
        alice.undo()  # nor does her undo take Bob's change away
