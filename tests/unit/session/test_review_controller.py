"""Review, history and object controllers without Qt: A / R / Shift+A change the stored status (the clip
in one undo step), undo / redo go back to what they changed, object edits reach the store."""

from __future__ import annotations

import numpy as np

from tests.unit.session.conftest import FPS, H, W, box


def _proposals(headless):
    store, vid = headless.store, headless.session.video.id
    a, b = store.add_object(vid, "drum"), store.add_object(vid, "bird")
    for f in (0, FPS, 2 * FPS, 5 * FPS):
        store.put_annotation(vid, f, a, box(50, 70, 40, 80), source="proposal", status="proposed")
    store.put_annotation(vid, 0, b, box(0, 10, 0, 10), source="proposal", status="proposed")
    store.put_annotation(vid, 3 * FPS, b, box(0, 10, 0, 10), source="manual", status="edited")
    headless.session.reload(all_frames=True)
    return store, vid, a, b


def test_accept_reject_and_accept_clip(headless):
    s = headless.session
    store, vid, a, b = _proposals(headless)
    headless.objects.select_number(1)
    headless.review.accept()
    headless.objects.select_number(2)
    headless.review.reject()
    assert {r.object_id: r.status for r in store.annotations(video_id=vid, frame=0)} == {
        a: "accepted",
        b: "rejected",
    }
    assert s.states[0] == "accepted" and s.review_text().startswith("rejected by ")
    headless.nav.next_review()
    assert s.frame == FPS  # the next keyframe that needs a look
    headless.review.accept_clip()
    assert headless.messages[-1] == "accepted 3 mask(s) in 0–5 s"
    statuses = {(r.frame, r.object_id): r.status for r in store.annotations(video_id=vid)}
    assert statuses == {
        (0, a): "accepted", (0, b): "rejected", (FPS, a): "accepted", (2 * FPS, a): "accepted",
        (3 * FPS, b): "accepted", (5 * FPS, a): "proposed",
    }  # fmt: skip
    assert s.states == ["accepted", "accepted", "accepted", "accepted", "unprocessed", "proposed"]
    # the clip was one step: one undo brings all three back
    headless.history.undo()
    assert headless.messages[-1] == "undo: review of “drum” on frame 11 and 2 more change(s) made with it"
    assert [r.status for r in store.annotations(video_id=vid, status="accepted")] == ["accepted"]
    assert s.states[1:4] == ["proposed", "proposed", "edited"]
    headless.history.redo()
    assert len(store.annotations(video_id=vid, status="accepted")) == 4


def test_a_silent_frame_is_confirmed_with_accept(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    store.put_annotation(vid, 0, None, np.zeros((H, W), bool), source="proposal", status="proposed")
    s.reload()
    assert s.states[0] == "proposed"
    headless.review.accept()
    assert [(r.object_id, r.status) for r in store.annotations(video_id=vid, frame=0)] == [(None, "accepted")]
    assert s.states[0] == "accepted"
    headless.show(FPS)
    headless.review.accept()
    assert headless.messages[-1] == "The selected object has no mask on this frame"


def test_undo_goes_back_to_the_frame_it_changes(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    headless.objects.add("drum")
    (drum,) = s.objects
    assert s.selected_object == drum.id
    headless.show(2 * FPS)
    headless.edit.commit_mask(box(10, 20, 10, 20))
    headless.show(0)
    headless.history.undo()
    assert s.frame == 2 * FPS and store.annotations(video_id=vid) == []
    assert headless.messages[-1] == f"undo: new mask of “drum” on frame {2 * FPS + 1}"  # label, 1-based
    headless.history.redo()
    assert np.array_equal(store.annotations(video_id=vid, frame=2 * FPS)[0].mask(), box(10, 20, 10, 20))
    headless.history.redo()
    assert headless.messages[-1] == "Nothing to redo"


def test_object_edits_reach_the_store(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    headless.objects.add("drum")
    headless.objects.add("bird")
    a, b = (o.id for o in s.objects)
    assert s.selected_object == b
    headless.objects.rename(a, "snare drum")
    headless.objects.set_flags(a, False, True)
    assert [(o.label, o.visible, o.locked) for o in store.objects(vid)][0] == ("snare drum", False, True)
    assert s.objects[0].label == "snare drum"
    store.put_annotation(vid, 0, b, box(0, 9, 0, 9), source="manual", status="edited")
    headless.objects.merge(a, b)
    assert [o.id for o in store.objects(vid)] == [a] and [r.object_id for r in store.annotations()] == [a]
    assert s.selected_object == a
    headless.objects.delete(a)
    assert store.objects(vid) == [] and s.objects == [] and s.selected_object is None
