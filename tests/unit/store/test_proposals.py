"""Store.replace_proposals: one clip's proposals and provenance in one transaction, reviewed frames kept."""

from __future__ import annotations

import numpy as np
import pytest

from avs_studio.store import FrameMasks
from tests.unit.store.helpers import box_mask

SHAPE = (48, 64)


def test_writes_objects_masks_empty_frames_and_provenance(store, video_obj):
    v, dog = video_obj
    run = store.start_pipeline_run("openavs", {}, {})
    frames = [
        FrameMasks(0, [("Dog", box_mask(0, 10, 0, 10), 0.9), ("guitar", box_mask(20, 30, 20, 40), 0.5)]),
        FrameMasks(25, []),  # nothing visible sounds
    ]
    counts = store.replace_proposals(v, frames, SHAPE, run_id=run, result={"prompt": "p"})
    assert (counts.annotations, counts.empty, counts.new_objects, counts.written) == (2, 1, 1, [0, 25])
    labels = {o.id: o.label for o in store.objects(v)}
    assert labels[dog] == "dog" and sorted(labels.values()) == ["dog", "guitar"]  # "Dog" reuses dog
    rows = {(a.frame, labels.get(a.object_id)): a for a in store.annotations(video_id=v)}
    assert set(rows) == {(0, "dog"), (0, "guitar"), (25, None)}
    assert np.array_equal(rows[(0, "guitar")].mask(), box_mask(20, 30, 20, 40))
    assert rows[(0, "dog")].score == 0.9 and rows[(0, "dog")].run_id == run
    assert not rows[(25, None)].mask().any() and rows[(25, None)].status == "proposed"
    (clip,) = store.clip_results(v)
    assert clip.frames == [0, 25] and clip.result == {"prompt": "p"}


def test_new_proposals_replace_old_ones_but_never_a_reviewed_frame(store, video_obj):
    v, dog = video_obj
    store.replace_proposals(
        v, [FrameMasks(0, [("dog", box_mask(0, 5, 0, 5), 0.4)]), FrameMasks(25, [])], SHAPE
    )
    accepted = store.put_annotation(v, 50, dog, box_mask(0, 20, 0, 20), source="manual", status="accepted")
    frames = [
        FrameMasks(0, [("dog", box_mask(10, 20, 10, 20), 0.8)]),
        FrameMasks(25, [("dog", box_mask(1, 2, 1, 2), 0.7)]),
        FrameMasks(50, []),  # a person accepted this frame: left alone
    ]
    counts = store.replace_proposals(v, frames, SHAPE, source="student", author="student:s1")
    assert (counts.skipped, counts.written) == (1, [0, 25])
    by_frame = {a.frame: a for a in store.annotations(video_id=v)}
    assert len(store.annotations(video_id=v)) == 3  # the old proposals of 0 and 25 are gone
    assert np.array_equal(by_frame[0].mask(), box_mask(10, 20, 10, 20)) and by_frame[0].source == "student"
    assert by_frame[50].id == accepted.id and by_frame[50].status == "accepted"
    assert store.clip_results(v) == []  # no run: no provenance row


def test_a_bad_mask_writes_nothing(store, video_obj):
    v, _ = video_obj
    frames = [
        FrameMasks(0, [("cat", box_mask(0, 5, 0, 5), 0.9)]),
        FrameMasks(25, [("cow", np.ones((4, 4), bool), 1)]),
    ]
    with pytest.raises(ValueError, match="shape"):
        store.replace_proposals(v, frames, SHAPE)
    assert store.annotations(video_id=v) == [] and [o.label for o in store.objects(v)] == ["dog"]
    with pytest.raises(ValueError, match="unknown annotation source"):
        store.replace_proposals(v, frames[:1], SHAPE, source="magic")
