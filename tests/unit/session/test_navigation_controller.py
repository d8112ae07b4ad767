"""NavigationController without Qt: seeks are clamped and answered by the frame source (newest wins),
keys step by frame, second and keyframe, the position is remembered per video, playback spans."""

from __future__ import annotations

import numpy as np

from avs_studio.jobs import add_videos
from avs_studio.session import speed_step
from tests.helpers.media_factory import make_video, read_counter
from tests.helpers.session import Headless
from tests.unit.session.conftest import FPS, FRAMES


def test_steps_and_seeks_show_the_frame_asked_for(headless):
    s, nav = headless.session, headless.nav
    asked: list[tuple[int, bool]] = []
    shown: list[int] = []
    s.events.frame_requested.connect(lambda f, from_playback: asked.append((f, from_playback)))
    s.events.frame_shown.connect(shown.append)
    nav.step(1)
    nav.step_seconds(1)
    nav.step_keyframe(1)
    assert asked == [(1, False), (1 + FPS, False), (2 * FPS, False)]
    assert s.shown == 0 and shown == []  # nothing decoded yet: the newest request wins
    headless.deliver()
    assert shown == [2 * FPS] and s.shown == 2 * FPS and read_counter(s.image) == 2 * FPS
    nav.step_keyframe(-1)
    nav.seek(10_000, from_playback=True)
    assert asked[-2:] == [(FPS, False), (FRAMES - 1, True)]
    nav.frame_ready(s.video.path, FPS, s.image)  # a frame the user has moved past: dropped
    assert s.shown == 2 * FPS
    headless.deliver()
    assert s.shown == FRAMES - 1
    nav.seek(FRAMES - 1)
    assert len(asked) == 5  # the same frame again asks nothing


def test_next_review_wraps_and_says_when_all_are_done(headless):
    s, store, vid = headless.session, headless.store, headless.session.video.id
    oid = store.add_object(vid, "drum")
    for k in s.keyframes:
        store.put_annotation(vid, k, oid, np.ones((120, 160), bool), source="manual", status="accepted")
    store.put_annotation(vid, FPS, oid, np.ones((120, 160), bool), source="manual", status="edited")
    s.reload(all_frames=True)
    headless.show(3 * FPS)
    headless.nav.next_review()
    assert s.frame == FPS  # wrapped around
    store.set_status(store.annotations(video_id=vid, frame=FPS)[0].id, "accepted")
    s.reload(all_frames=True)
    headless.nav.next_review()
    assert s.frame == FPS and headless.messages[-1] == "Every keyframe of this video is reviewed"


def test_position_and_last_video_are_remembered(project, tmp_path):
    other = make_video(tmp_path / "second.mp4", frames=20, fps=10, size=(96, 64))
    (second,) = [i for _, i in add_videos(project, [other]).added]
    h = Headless(project)
    first = h.session.video.id
    h.show(42)
    h.nav.remember_position()
    h.nav.open_video(second)
    h.deliver()
    assert h.session.video.id == second and h.session.image.shape[:2] == (64, 96)
    h.close()
    again = Headless(project)  # opens the video shown last, where it was left
    assert again.session.video.id == second
    again.nav.open_video(first)
    again.deliver()
    assert again.session.shown == 42 and read_counter(again.session.image) == 42
    again.close()


def test_playback_spans_and_speed_steps(headless):
    headless.show(25)
    assert headless.nav.second_span() == (2 * FPS, 3 * FPS - 1)
    assert headless.nav.clip_span() == (0, 5 * FPS - 1)
    headless.show(55)
    assert headless.nav.clip_span() == (50, FRAMES - 1)
    assert speed_step(1.0, 2) == 1.5 and speed_step(1.9, 5) == 2.0 and speed_step(0.3, -1) == 0.25
