"""Review use cases (the GUI's Shift+A and C, the CLI's accept-clip and copy-keyframe) on a real store."""

from __future__ import annotations

import numpy as np
import pytest

from avs_studio.jobs import init_project
from avs_studio.jobs.review import (
    accept_clip,
    copy_previous_keyframe,
    frame_state,
    keyframe_states,
    next_needing_review,
    review_progress,
)
from avs_studio.store import ConflictError

FPS, FRAMES = 10, 120  # 12 s: keyframes every 10 frames


@pytest.fixture
def project(tmp_path):
    project = init_project(tmp_path / "p")
    info = {
        "path": str(tmp_path / "v.mp4"), "fps": FPS, "frame_count": FRAMES, "width": 16, "height": 8,
        "duration": FRAMES / FPS, "has_audio": True, "sha256": "x",
    }  # fmt: skip
    project.video_id = project.store.add_video(info)
    yield project
    project.close()


def mask(x0: int) -> np.ndarray:
    m = np.zeros((8, 16), bool)
    m[2:6, x0 : x0 + 4] = True
    return m


def test_accept_clip_accepts_the_clip_in_one_step(project):
    store, vid = project.store, project.video_id
    a = store.add_object(vid, "drum")
    for f, status in ((0, "proposed"), (25, "edited"), (49, "proposed"), (50, "proposed"), (70, "rejected")):
        store.put_annotation(vid, f, a, mask(f % 12), source="proposal", status=status)
    report = accept_clip(project, vid, 42, clip_keyframes=5)
    assert (report.first, report.end, report.accepted) == (0, 50, 3)
    assert {r.frame: r.status for r in store.annotations(video_id=vid)} == {
        0: "accepted",
        25: "accepted",
        49: "accepted",
        50: "proposed",
        70: "rejected",
    }
    store.undo()
    assert {r.frame: r.status for r in store.annotations(video_id=vid)}[25] == "edited"
    assert store.annotations(video_id=vid, status="accepted") == []
    # clip length 3: the second clip is keyframes 30, 40, 50 -> frames [30, 60)
    report = accept_clip(project, vid, 55, clip_keyframes=3)
    assert (report.first, report.end, report.accepted) == (30, 60, 2)
    assert accept_clip(project, vid, 119, clip_keyframes=5).accepted == 0  # nothing left to accept there


def test_accept_clip_refuses_a_row_changed_meanwhile(project, monkeypatch):
    store, vid = project.store, project.video_id
    a = store.add_object(vid, "drum")
    rows = [store.put_annotation(vid, f, a, mask(0), source="proposal", status="proposed") for f in (0, 10)]
    real = store.annotations

    def stale(**kw):  # the rows as read before another annotator edited frame 10
        out = real(**kw)
        store.set_status(rows[1].id, "rejected", author="other")
        monkeypatch.setattr(store, "annotations", real)
        return out

    monkeypatch.setattr(store, "annotations", stale)
    with pytest.raises(ConflictError):
        accept_clip(project, vid, 0, clip_keyframes=5)
    assert {r.frame: r.status for r in store.annotations(video_id=vid)} == {0: "proposed", 10: "rejected"}


def test_copy_previous_keyframe_skips_locked_objects(project):
    store, vid = project.store, project.video_id
    a, b, c = store.add_object(vid, "drum"), store.add_object(vid, "bird"), store.add_object(vid, "car")
    store.put_annotation(vid, 10, a, mask(0), source="manual", status="accepted")
    store.put_annotation(vid, 10, b, mask(6), source="manual", status="accepted")
    store.put_annotation(vid, 20, a, mask(10), source="proposal", status="proposed")
    store.update_object(b, locked=True)
    report = copy_previous_keyframe(project, vid, 20)
    assert (report.source, report.copied) == (10, 1)
    (row,) = store.annotations(video_id=vid, frame=20)
    assert (row.object_id, row.status, row.source) == (a, "edited", "manual")
    assert np.array_equal(row.mask(), mask(0))
    assert copy_previous_keyframe(project, vid, 25).source == 20  # between keyframes: the one before
    assert copy_previous_keyframe(project, vid, 0) == type(report)(None, 0)
    assert c not in {r.object_id for r in store.annotations(video_id=vid)}


def test_what_counts_as_reviewed():
    class R:
        def __init__(self, frame: int, status: str) -> None:
            self.frame, self.status = frame, status

    assert frame_state([]) == "unprocessed"
    assert frame_state([R(0, "accepted"), R(0, "edited")]) == "edited"
    assert frame_state([R(0, "accepted"), R(0, "proposed")]) == "proposed"
    assert frame_state([R(0, "rejected")]) == "rejected"
    assert frame_state([R(0, "rejected"), R(0, "accepted")]) == "accepted"
    states = keyframe_states([0, 10, 20], [R(10, "accepted"), R(20, "proposed")])
    assert states == ["unprocessed", "accepted", "proposed"]
    assert next_needing_review([0, 10, 20], states, 10) == 20
    assert next_needing_review([0, 10, 20], states, 20) == 0
    assert next_needing_review([0, 10], ["accepted", "rejected"], 0) is None
    assert review_progress(states) == pytest.approx(1 / 3) and review_progress([]) == 0.0
