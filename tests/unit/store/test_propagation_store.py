"""The store's small additions for propagation: objects named by id in FrameMasks, delete_proposals."""

from __future__ import annotations

import numpy as np
import pytest

from avs_studio.masks import encode
from avs_studio.store import FrameMasks
from tests.unit.store.helpers import VIDEO, box_mask

SHAPE = (48, 64)


def test_objects_given_by_id_are_written_to_those_objects(store, video_obj):
    v, dog = video_obj
    dog2 = store.add_object(v, "second dog")
    rle = encode(box_mask(10, 20, 10, 20))  # an RLE is taken as it is
    counts = store.replace_proposals(
        v, [FrameMasks(3, [(dog, box_mask(0, 5, 0, 5), 0.5), (dog2, rle, None)])], SHAPE, source="propagation",
    )  # fmt: skip
    assert (counts.annotations, counts.new_objects) == (2, 0)
    rows = {a.object_id: a for a in store.annotations(video_id=v, frame=3)}
    assert set(rows) == {dog, dog2} and rows[dog].source == "propagation" and rows[dog].score == 0.5
    assert np.array_equal(rows[dog2].mask(), box_mask(10, 20, 10, 20)) and rows[dog2].area == 100
    other_video = store.add_video({**VIDEO, "path": "/media/cat.mp4"})
    cat = store.add_object(other_video, "cat")
    with pytest.raises(ValueError, match=f"object {cat} is not an object of video {v}"):
        store.replace_proposals(v, [FrameMasks(4, [(cat, box_mask(0, 5, 0, 5), None)])], SHAPE)
    assert store.annotations(video_id=v, frame=4) == []  # nothing written


def test_delete_proposals_removes_only_that_sources_proposals_on_those_frames(store, video_obj):
    v, dog = video_obj
    for f in (1, 2, 3):
        store.replace_proposals(v, [FrameMasks(f, [(dog, box_mask(0, 5, 0, 5), None)])], SHAPE,
                                source="propagation")  # fmt: skip
    store.replace_proposals(v, [FrameMasks(4, [("dog", box_mask(0, 5, 0, 5), None)])], SHAPE)  # OpenAVS
    kept = store.put_annotation(v, 5, dog, box_mask(0, 9, 0, 9), source="propagation", status="accepted")
    assert store.delete_proposals(v, [2, 3, 4, 5], source="propagation") == 2
    left = {(a.frame, a.source, a.status) for a in store.annotations(video_id=v)}
    assert left == {
        (1, "propagation", "proposed"),
        (4, "proposal", "proposed"),
        (5, "propagation", "accepted"),
    }
    assert store.annotation(kept.id).version == kept.version
    with pytest.raises(ValueError):
        store.delete_proposals(v, [1], source="bogus")
