"""One user action over many rows is one undo step in the GUI: Shift+A (accept clip) and C (copy the
previous keyframe) are undone by one Ctrl+Z and redone by one Ctrl+Shift+Z, checked in the store."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.gui.conftest import FPS

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def key(qtbot, w, k, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, k, modifier)
    qtbot.waitUntil(w.writer.idle, timeout=10000)


def statuses(store, vid: int) -> dict[tuple[int, int], str]:
    return {(r.frame, r.object_id): r.status for r in store.annotations(video_id=vid)}


def test_accept_clip_is_one_undo_and_one_redo_step(qtbot, main_window):
    w = main_window
    store, vid = w.project.store, w.video.id
    a, b = store.add_object(vid, "drum"), store.add_object(vid, "bird")
    m = np.zeros((120, 160), bool)
    m[50:70, 40:80] = True
    for f in (0, FPS, 2 * FPS, 4 * FPS, 5 * FPS):
        store.put_annotation(vid, f, a, m, source="proposal", status="proposed")
    store.put_annotation(vid, FPS, b, ~m, source="proposal", status="proposed")
    store.put_annotation(vid, 2 * FPS, b, ~m, source="manual", status="edited")
    w.session.reload(all_frames=True)
    before = statuses(store, vid)
    in_clip = [k for k in before if k[0] < 5 * FPS]
    assert len(in_clip) == 6

    key(qtbot, w, Qt.Key.Key_A, SHIFT)  # accept the 0-5 s clip: six rows
    accepted = statuses(store, vid)
    assert [accepted[k] for k in in_clip] == ["accepted"] * 6 and accepted[(5 * FPS, a)] == "proposed"

    key(qtbot, w, Qt.Key.Key_Z, CTRL)  # ONE undo brings all six back
    assert statuses(store, vid) == before
    assert "and 5 more change(s) made with it" in w.status.currentMessage()  # one step, named

    key(qtbot, w, Qt.Key.Key_Z, CTRL | SHIFT)  # ONE redo accepts all six again
    assert statuses(store, vid) == accepted
    key(qtbot, w, Qt.Key.Key_Z, CTRL)
    assert statuses(store, vid) == before
    # the masks were stored one by one: the next undo takes back only the last of them
    key(qtbot, w, Qt.Key.Key_Z, CTRL)
    assert statuses(store, vid) == {k: v for k, v in before.items() if k != (2 * FPS, b)}


def test_copy_previous_keyframe_is_one_undo_step(qtbot, main_window):
    w = main_window
    store, vid = w.project.store, w.video.id
    objs = [store.add_object(vid, label) for label in ("drum", "bird", "dog")]
    m = np.zeros((120, 160), bool)
    m[10:30, 20:60] = True
    for i, o in enumerate(objs):
        store.put_annotation(vid, 0, o, np.roll(m, 30 * i, axis=1), source="manual", status="edited")
    w.nav.seek(FPS)
    qtbot.waitUntil(lambda: w.canvas.frame_index == FPS, timeout=10000)
    key(qtbot, w, Qt.Key.Key_C)
    copied = store.annotations(video_id=vid, frame=FPS)
    assert [r.object_id for r in copied] == objs
    assert all(np.array_equal(r.mask(), np.roll(m, 30 * i, axis=1)) for i, r in enumerate(copied))
    key(qtbot, w, Qt.Key.Key_Z, CTRL)  # one undo removes all three copies
    assert store.annotations(video_id=vid, frame=FPS) == []
    assert len(store.annotations(video_id=vid, frame=0)) == 3
    key(qtbot, w, Qt.Key.Key_Z, CTRL | SHIFT)
    assert [r.object_id for r in store.annotations(video_id=vid, frame=FPS)] == objs
