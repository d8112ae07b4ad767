"""AnnotationSession without Qt: what a window shows after opening a video, showing a frame, and reloading;
the overlay layers it would draw; the clip and review target it computes."""

from __future__ import annotations

import numpy as np

from avs_studio.masks import resize_mask
from tests.helpers.media_factory import read_counter
from tests.unit.session.conftest import FPS, FRAMES, H, W, box


def test_opening_a_project_shows_its_first_video_and_frame(headless):
    s = headless.session
    assert s.video is not None and s.video.frame_count == FRAMES
    assert s.keyframes == list(range(0, FRAMES, FPS))
    assert s.states == ["unprocessed"] * 6
    assert (s.frame, s.shown) == (0, 0) and read_counter(s.image) == 0
    assert s.objects == [] and s.selected_object is None and s.annotations == {}
    # the media of the video loaded (on the media runner): frame times and the audio of the tones
    (media,) = headless.media_loaded
    assert len(media.times) == FRAMES and media.audio is not None and media.pyramid is not None
    assert media.times[FPS] == np.float64(1.0)


def test_reload_reads_objects_annotations_and_states(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    drum = store.add_object(vid, "drum")
    store.put_annotation(vid, 0, drum, box(10, 30, 10, 40), source="proposal", status="proposed")
    store.put_annotation(vid, FPS, drum, box(10, 30, 10, 40), source="manual", status="accepted")
    changes: list[str] = []
    s.events.annotations_changed.connect(lambda: changes.append("annotations"))
    s.events.states_changed.connect(lambda: changes.append("states"))
    s.events.counts_changed.connect(lambda v: changes.append(f"counts {v}"))
    s.reload(all_frames=True)
    assert [o.label for o in s.objects] == ["drum"] and s.selected_object == drum
    assert set(s.annotations) == {drum} and s.annotations[drum].status == "proposed"
    assert s.states[:2] == ["proposed", "accepted"] and s.keyframe_status()[FPS] == "accepted"
    assert changes == ["annotations", "states", f"counts {vid}"]
    # a change on the shown frame only updates that keyframe's state
    store.set_status(s.annotations[drum].id, "rejected")
    s.reload()
    assert s.states[:2] == ["rejected", "accepted"]


def test_layers_follow_visibility_selection_pending_masks_and_frame_size(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    a, b = store.add_object(vid, "drum"), store.add_object(vid, "bird")
    small = np.zeros((H // 2, W // 2), bool)
    small[5:10, 5:10] = True  # stored at half size, as an import at another resolution would be
    store.put_annotation(vid, 0, a, small, source="imported", status="accepted")
    store.put_annotation(vid, 0, b, box(50, 60, 50, 60), source="manual", status="edited")
    s.reload()
    layers = s.layers()
    assert [(la.colour, la.selected) for la in layers] == [(o.colour, o.id == a) for o in s.objects]
    assert np.array_equal(layers[0].mask, resize_mask(small, (H, W))) and layers[0].mask.sum() == 100
    s.select(b)
    assert [la.selected for la in s.layers()] == [False, True]
    pending = box(0, 5, 0, 5)
    s.set_pending((vid, 0, b), pending)
    assert s.layers()[1].mask is pending  # shown until stored
    store.update_object(a, visible=False)
    s.reload()
    assert len(s.layers()) == 1 and s.layers()[0].colour == s.objects[1].colour


def test_review_target_prefers_selection_then_the_only_mask_then_silence(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    silent = store.put_annotation(vid, 0, None, np.zeros((H, W), bool), source="proposal", status="proposed")
    s.reload()
    assert s.target_annotation().id == silent.id
    a = store.add_object(vid, "drum")
    only = store.put_annotation(vid, 0, a, box(0, 9, 0, 9), source="proposal", status="proposed")
    s.reload()
    s.select(None)
    assert s.target_annotation().id == only.id  # the only object mask, not the silence
    s.select(a)
    assert s.target_annotation().id == only.id and s.review_text() == "proposed"


def test_clip_is_five_keyframes_of_the_profile(headless):
    s = headless.session
    assert s.clip(0) == (0, 5 * FPS) and s.clip(49) == (0, 5 * FPS) and s.clip(50) == (50, FRAMES)
    s.clip_keyframes = 2
    assert s.clip(25) == (2 * FPS, 4 * FPS) and s.clip(59) == (4 * FPS, FRAMES)
