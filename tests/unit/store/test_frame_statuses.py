"""Store.frame_statuses: which frames of a video have annotations and in which statuses, without reading
masks (the timeline's mask strip, ``jobs.propagate.frames_with_masks``); SQLite and PostgreSQL."""

from __future__ import annotations

from tests.unit.store.helpers import VIDEO, box_mask


def test_distinct_frame_status_pairs_of_one_video_only(store, video_obj):
    v, dog = video_obj
    bird = store.add_object(v, "bird")
    store.put_annotation(v, 3, dog, box_mask(0, 5, 0, 5), source="propagation", status="proposed")
    store.put_annotation(v, 3, bird, box_mask(5, 9, 0, 5), source="propagation", status="proposed")
    store.put_annotation(v, 7, dog, box_mask(0, 5, 0, 5), source="manual", status="edited")
    store.put_annotation(v, 7, bird, box_mask(0, 5, 0, 5), source="proposal", status="rejected")
    store.put_annotation(v, 9, None, box_mask(0, 0, 0, 0), source="manual", status="accepted")  # nothing sounds
    other = store.add_video({**VIDEO, "path": "/media/cat.mp4"})
    cat = store.add_object(other, "cat")
    store.put_annotation(other, 4, cat, box_mask(0, 5, 0, 5), source="manual", status="accepted")
    assert sorted(store.frame_statuses(v)) == [(3, "proposed"), (7, "edited"), (7, "rejected"), (9, "accepted")]
    assert store.frame_statuses(other) == [(4, "accepted")]
    assert store.frame_statuses(9999) == []
