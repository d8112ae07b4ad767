"""EditController without Qt: masks go to the store exactly, a refused write loses nothing and says so,
locked objects are not edited, C copies the previous keyframe in one undo step, SAM clicks store what the
point segmenter answers."""

from __future__ import annotations

import numpy as np

from avs_studio.masks import fill_holes
from avs_studio.store import Store
from tests.helpers.media_factory import red
from tests.unit.session.conftest import FPS, H, W, box


def test_first_edit_adds_an_object_and_stores_the_mask(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    mask = headless.edit.editable_mask()
    assert mask is not None and mask.shape == (H, W) and not mask.any()
    (obj,) = store.objects(vid)
    assert obj.label == "object 1" and s.selected_object == obj.id
    mask[20:40, 30:60] = True
    headless.edit.preview_mask(mask)
    assert headless.previews[-1].mask is mask and headless.previews[-1].colour == obj.colour
    headless.edit.end_preview()
    assert headless.previews[-1] is None
    headless.edit.commit_mask(mask)
    (row,) = store.annotations(video_id=vid, frame=0)
    assert (row.object_id, row.status, row.source) == (obj.id, "edited", "manual")
    assert np.array_equal(row.mask(), mask) and s.pending == {} and not s.write_failed
    assert s.states[0] == "edited" and np.array_equal(s.layers()[0].mask, mask)
    # the next edit starts from the stored mask
    again = headless.edit.editable_mask()
    assert np.array_equal(again, mask) and again is not mask


def test_a_conflicting_write_is_reported_and_the_stored_mask_shown(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    oid = store.add_object(vid, "drum")
    store.put_annotation(vid, 0, oid, box(50, 70, 40, 80), source="proposal", status="proposed")
    s.reload()
    other = Store(store.url, author="someone-else")
    theirs = box(10, 20, 10, 20)
    other.put_annotation(vid, 0, oid, theirs, source="manual", status="edited")
    other.close()
    mine = headless.edit.editable_mask()
    mine[100:110, 100:110] = True
    headless.edit.commit_mask(mine)
    assert s.write_failed and headless.errors[-1][0] == "Someone else changed this first"
    assert headless.errors[-1][1].startswith("someone-else changed the mask of “drum” on frame 1 after")
    assert "Reload to see their change" in headless.errors[-1][1]
    row = store.annotations(video_id=vid, frame=0)[0]
    assert row.author == "someone-else" and np.array_equal(row.mask(), theirs)
    assert s.pending == {} and np.array_equal(s.layers()[0].mask, theirs)
    headless.edit.commit_mask(headless.edit.editable_mask() | box(100, 110, 100, 110))
    assert not s.write_failed
    assert np.array_equal(
        store.annotations(video_id=vid, frame=0)[0].mask(), theirs | box(100, 110, 100, 110)
    )


def test_a_new_mask_never_overwrites_one_another_author_created_meanwhile(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    oid = store.add_object(vid, "drum")
    s.reload()  # nothing on this frame yet, as far as this window knows
    other = Store(store.url, author="someone-else")
    theirs = box(10, 20, 10, 20)
    other.put_annotation(vid, 0, oid, theirs, source="manual", status="edited")
    other.close()
    headless.edit.commit_mask(box(100, 110, 100, 110))
    assert s.write_failed and headless.errors[-1][0] == "Someone else changed this first"
    (row,) = store.annotations(video_id=vid, frame=0)
    assert row.author == "someone-else" and np.array_equal(row.mask(), theirs)
    assert np.array_equal(s.layers()[0].mask, theirs)  # the window now shows theirs


def test_locked_and_unselected_objects_are_not_edited(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    a = store.add_object(vid, "drum")
    store.update_object(a, locked=True)
    s.reload()
    assert headless.edit.editable_mask() is None and "locked" in headless.messages[-1]
    store.add_object(vid, "bird")
    s.reload()
    s.select(None)
    assert headless.edit.editable_mask() is None and "Select an object first" in headless.messages[-1]
    assert store.annotations(video_id=vid) == []


def test_fill_holes_and_copy_previous_keyframe(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    a, b = store.add_object(vid, "drum"), store.add_object(vid, "bird")
    ring = box(20, 60, 20, 60) & ~box(30, 50, 30, 50)
    store.put_annotation(vid, 0, a, ring, source="manual", status="edited")
    store.put_annotation(vid, 0, b, box(80, 90, 80, 90), source="manual", status="edited")
    store.update_object(b, locked=True)
    s.reload()
    s.select(a)
    headless.edit.fill_holes()
    assert np.array_equal(store.annotations(video_id=vid, frame=0)[0].mask(), fill_holes(ring))
    headless.edit.copy_previous_keyframe()
    assert headless.messages[-1] == "No keyframe before this frame"
    headless.show(FPS + 3)  # a frame between keyframes: the previous keyframe is FPS
    headless.edit.copy_previous_keyframe()
    assert headless.messages[-1] == f"Keyframe {FPS + 1} has no masks to copy"  # 1-based
    headless.show(FPS)
    headless.edit.copy_previous_keyframe()
    assert headless.messages[-1] == "copied 1 mask(s) from frame 1"  # 1-based
    rows = store.annotations(video_id=vid, frame=FPS)
    assert [(r.object_id, r.status, r.source) for r in rows] == [(a, "edited", "manual")]  # bird is locked
    assert np.array_equal(rows[0].mask(), fill_holes(ring)) and s.states[1] == "edited"
    store.undo()  # one step undoes the copy
    assert store.annotations(video_id=vid, frame=FPS) == []


def test_brush_radius_is_clamped_and_shown(headless):
    statuses: list[str] = []
    headless.session.events.tool_status.connect(statuses.append)
    headless.edit.set_brush_radius(0.1)
    assert headless.edit.brush_radius == 1.0 and statuses[-1] == "brush 1 px"
    headless.edit.set_brush_radius(1000)
    assert headless.edit.brush_radius == 200.0
    headless.edit.set_tool("eraser")
    assert statuses[-1] == "tool: eraser (200 px)"


def test_sam_tool_embeds_ahead_and_a_click_stores_the_segmenters_mask(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    oid = store.add_object(vid, "square")
    s.reload()
    headless.edit.set_tool("sam")
    # this frame and the next keyframes are embedded ahead
    assert headless.worker.embedded[:3] == [f"video:{vid}:0", f"video:{vid}:{FPS}", f"video:{vid}:{2 * FPS}"]
    square = red(s.image)
    ys, xs = np.nonzero(square)
    points = np.array([[np.median(xs), np.median(ys)]], np.float32)
    headless.edit.sam_request(points, np.ones(1, np.int32), None)
    (row,) = store.annotations(video_id=vid, frame=0)
    assert row.object_id == oid
    iou = (row.mask() & square).sum() / (row.mask() | square).sum()
    assert iou > 0.8
    generation = headless.worker.generation
    headless.show(5)
    assert headless.worker.generation == generation + 1  # prefetches of the frame left are stale
