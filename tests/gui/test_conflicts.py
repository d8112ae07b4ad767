"""Two annotators on one SQLite file: the window (its store's author) and ``bob`` (a second Store).

Every edit path of the window (strokes, fill holes, C, A/R, Shift+A, delete) refuses to overwrite what
bob stored after the window read it, says so once in words (who, which object, which 1-based frame,
"reload to see their change") and loses nothing; undo/redo act only on the window's own edits.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from avs_studio.store import Store
from tests.gui.conftest import FPS
from tests.gui.test_main_window import drag, press, wait_stored

H, W = 120, 160


def box(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.fixture
def bob(main_window):
    store = Store(main_window.project.store.url, author="bob")
    yield store
    store.close()


def _drum(qtbot, w) -> int:
    w.objects.add("drum")
    wait_stored(qtbot, w)
    return next(o.id for o in w.session.objects if o.label == "drum")


def _refused(w, frame: int) -> None:
    assert w.session.write_failed
    assert f"bob changed the mask of “drum” on frame {frame + 1} after you last saw it" in w.last_error
    assert (
        "Reload to see their change" in w.last_error and "nothing of theirs was overwritten" in w.last_error
    )


def test_a_stroke_never_overwrites_a_mask_created_meanwhile(qtbot, main_window, bob):
    w = main_window
    oid = _drum(qtbot, w)
    theirs = box(10, 30, 10, 30)
    bob.put_annotation(w.video.id, 0, oid, theirs, source="manual", status="edited")  # unseen by w
    press(qtbot, w, Qt.Key.Key_B)
    drag(w, [(100, 60), (120, 60)])
    wait_stored(qtbot, w)
    _refused(w, 0)
    (row,) = w.project.store.annotations(video_id=w.video.id, frame=0)
    assert row.author == "bob" and np.array_equal(row.mask(), theirs)
    assert np.array_equal(w.canvas.overlay_rgba()[..., 3] > 0, theirs)  # reloaded: the window shows theirs


def test_copy_previous_keyframe_refuses_over_an_unseen_mask(qtbot, main_window, bob):
    w, store = main_window, main_window.project.store
    oid = _drum(qtbot, w)
    store.put_annotation(w.video.id, 0, oid, box(40, 80, 40, 80), source="manual", status="edited")
    press(qtbot, w, Qt.Key.Key_Period)  # keyframe FPS: no mask there as the window sees it
    qtbot.waitUntil(lambda: w.canvas.frame_index == FPS, timeout=10000)
    theirs = box(5, 15, 5, 15)
    bob.put_annotation(w.video.id, FPS, oid, theirs, source="manual", status="edited")
    press(qtbot, w, Qt.Key.Key_C)
    wait_stored(qtbot, w)
    _refused(w, FPS)
    (row,) = store.annotations(video_id=w.video.id, frame=FPS)
    assert row.author == "bob" and np.array_equal(row.mask(), theirs)
    # now seen: C replaces it on purpose
    press(qtbot, w, Qt.Key.Key_C)
    wait_stored(qtbot, w)
    assert np.array_equal(store.annotations(video_id=w.video.id, frame=FPS)[0].mask(), box(40, 80, 40, 80))


def test_accept_accept_clip_and_delete_refuse_unseen_changes(qtbot, main_window, bob):
    w, store, vid = main_window, main_window.project.store, main_window.video.id
    oid = _drum(qtbot, w)
    for k in (0, FPS, 2 * FPS):
        store.put_annotation(vid, k, oid, box(40, 60, 40, 60), source="proposal", status="proposed")
    w.session.reload(all_frames=True)
    row0 = store.annotations(vid, frame=0)[0]
    bob.put_annotation(vid, 0, oid, box(0, 10, 0, 10), source="manual", status="edited",
                       expected_version=row0.version)  # fmt: skip
    press(qtbot, w, Qt.Key.Key_A)
    wait_stored(qtbot, w)
    assert "frame 1" in w.last_error and "bob changed" in w.last_error
    assert store.annotations(vid, frame=0)[0].status == "edited"  # bob's edit, not accepted unseen
    # Shift+A: bob changes another frame of the clip the window has not re-read
    row2 = store.annotations(vid, frame=2 * FPS)[0]
    bob.put_annotation(vid, 2 * FPS, oid, box(0, 5, 0, 5), source="manual", status="edited",
                       expected_version=row2.version)  # fmt: skip
    w.last_error = None
    press(qtbot, w, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    wait_stored(qtbot, w)
    _refused(w, 2 * FPS)
    assert store.annotations(vid, status="accepted") == []  # nothing of the clip accepted
    # reloaded by the refusal: now Shift+A accepts what the window shows
    press(qtbot, w, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    wait_stored(qtbot, w)
    assert len(store.annotations(vid, status="accepted")) == 3
    # deleting the object while bob added a mask to it the window has not seen: refused
    bob.put_annotation(vid, 3 * FPS, oid, box(0, 5, 0, 5), source="manual", status="edited")
    w.objects.delete(oid)
    wait_stored(qtbot, w)
    _refused(w, 3 * FPS)
    assert [o.id for o in store.objects(vid)] == [oid] and len(store.annotations(vid)) == 4


def test_undo_and_redo_act_only_on_this_windows_author(qtbot, main_window, bob):
    w, store, vid = main_window, main_window.project.store, main_window.video.id
    oid = _drum(qtbot, w)
    bird = bob.add_object(vid, "bird")
    press(qtbot, w, Qt.Key.Key_B)
    drag(w, [(30, 60), (50, 60)])
    wait_stored(qtbot, w)
    mine = store.annotations(vid, frame=0)[0].mask()
    bob.put_annotation(vid, 0, bird, box(0, 10, 0, 10), source="manual", status="edited")  # bob's newest
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_stored(qtbot, w)
    rows = {r.object_id: r for r in store.annotations(vid, frame=0)}
    assert set(rows) == {bird} and rows[bird].author == "bob"  # the window's stroke undone, bob's kept
    assert w.status.currentMessage() == "undo: new mask of “drum” on frame 1"  # label and frame, no ids
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_stored(qtbot, w)
    assert w.status.currentMessage() == "Nothing to undo"  # bob's edit is not this window's to undo
    assert {r.object_id for r in store.annotations(vid, frame=0)} == {bird}
    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_stored(qtbot, w)
    rows = {r.object_id: r for r in store.annotations(vid, frame=0)}
    assert set(rows) == {oid, bird} and np.array_equal(rows[oid].mask(), mine)


def test_a_conflict_is_shown_once_in_one_dialog(qtbot, video_project, gui_settings):
    from avs_studio.gui.main_window import MainWindow

    w = MainWindow(video_project, settings=gui_settings, ask=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.canvas.frame_index == 0, timeout=10000)
    oid = _drum(qtbot, w)
    bob = Store(video_project.store.url, author="bob")
    bob.put_annotation(w.video.id, 0, oid, box(10, 30, 10, 30), source="manual", status="edited")
    bob.close()
    press(qtbot, w, Qt.Key.Key_B)
    for y in (60, 70, 80):  # three strokes in flight, all refused for one reason
        drag(w, [(100, y), (120, y)])
    wait_stored(qtbot, w)
    assert w.problems.is_open()
    text = w.problems.text()
    assert text.count("bob changed the mask of “drum” on frame 1") == 1, text
    assert len(w.findChildren(type(w.problems.box))) == 1
    w.problems.box.done(0)
    w.close()
