"""The main window on a real project: frames shown are the frames asked for, strokes are stored exactly,
undo/redo survive a restart, review keys change the stored status."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from avs_studio.masks import brush_stroke, erase_stroke, polygon_fill
from tests.gui.conftest import FPS, close_window, open_window
from tests.helpers.media_factory import read_counter


def shown_counter(window) -> int:
    return read_counter(window.canvas.displayed_image())


def wait_shown(qtbot, window, frame: int) -> None:
    qtbot.waitUntil(lambda: window.canvas.frame_index == frame, timeout=10000)


def wait_stored(qtbot, window) -> None:
    qtbot.waitUntil(window.writer.idle, timeout=10000)


def press(qtbot, window, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, key, modifier)


def drag(window, points: list[tuple[float, float]], button=Qt.MouseButton.LeftButton) -> list[QPoint]:
    """Press at the first image point, move through the rest, release at the last; returns view positions."""
    vp = window.canvas.viewport()
    pos = [window.canvas.view_point(x, y) for x, y in points]
    QTest.mousePress(vp, button, Qt.KeyboardModifier.NoModifier, pos[0])
    for p in pos[1:]:
        QTest.mouseMove(vp, p)
    QTest.mouseRelease(vp, button, Qt.KeyboardModifier.NoModifier, pos[-1])
    return pos


def test_first_frame_and_keys_step_and_seek(qtbot, main_window):
    w = main_window
    assert w.canvas.frame_index == 0 and shown_counter(w) == 0
    press(qtbot, w, Qt.Key.Key_Right)
    wait_shown(qtbot, w, 1)
    assert shown_counter(w) == 1
    press(qtbot, w, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)  # +1 s
    wait_shown(qtbot, w, 1 + FPS)
    assert shown_counter(w) == 1 + FPS
    press(qtbot, w, Qt.Key.Key_Period)  # next keyframe (one per second)
    wait_shown(qtbot, w, 2 * FPS)
    assert shown_counter(w) == 2 * FPS
    press(qtbot, w, Qt.Key.Key_Comma)
    wait_shown(qtbot, w, FPS)
    press(qtbot, w, Qt.Key.Key_Left, Qt.KeyboardModifier.ShiftModifier)
    wait_shown(qtbot, w, 0)
    assert shown_counter(w) == 0
    # seeking by the timeline, and past the end clamps to the last frame
    w.timeline.seekRequested.emit(37)
    wait_shown(qtbot, w, 37)
    assert shown_counter(w) == 37
    w.nav.seek(10_000)
    last = w.video.frame_count - 1
    wait_shown(qtbot, w, last)
    assert shown_counter(w) == last
    assert w.status.frame_label.text().startswith(f"frame {last + 1}/{w.video.frame_count}")


def test_fast_stepping_shows_the_newest_frame(qtbot, main_window):
    w = main_window
    for _ in range(15):
        w.nav.step(1)
    wait_shown(qtbot, w, 15)
    assert shown_counter(w) == 15


def _add_object(qtbot, w, label="drum") -> int:
    w.objects.add(label)
    wait_stored(qtbot, w)
    obj = next(o for o in w.session.objects if o.label == label)
    assert w.session.selected_object == obj.id
    return obj.id


def test_brush_stroke_is_stored_exactly(qtbot, main_window):
    w = main_window
    oid = _add_object(qtbot, w)
    press(qtbot, w, Qt.Key.Key_B)
    assert w.canvas.tool is w.tools["brush"]
    w.edit.set_brush_radius(5)
    pos = drag(w, [(30, 60), (50, 62), (80, 70), (100, 90)])
    wait_stored(qtbot, w)
    pts = [w.canvas.image_point(p) for p in pos]
    expected = brush_stroke(np.zeros((120, 160), bool), pts, 5)
    rows = w.project.store.annotations(video_id=w.video.id, frame=0)
    assert [(r.object_id, r.status, r.source) for r in rows] == [(oid, "edited", "manual")]
    assert np.array_equal(rows[0].mask(), expected)
    assert expected.sum() > 300
    # the overlay paints exactly the stored pixels (fill ~45% alpha, solid outline)
    alpha = w.canvas.overlay_rgba()[..., 3]
    assert np.array_equal(alpha > 0, expected)
    assert set(np.unique(alpha[expected])) == {115, 255}
    assert w.status.stored_label.text() == "stored ✓"

    # eraser takes exactly its stroke out of the stored mask
    press(qtbot, w, Qt.Key.Key_E)
    pos = drag(w, [(50, 62), (52, 62)])
    wait_stored(qtbot, w)
    expected = erase_stroke(expected, [w.canvas.image_point(p) for p in pos], 5)
    assert np.array_equal(w.project.store.annotations(video_id=w.video.id, frame=0)[0].mask(), expected)


def test_polygon_fill_holes_and_copy_previous(qtbot, main_window):
    w = main_window
    oid = _add_object(qtbot, w)
    press(qtbot, w, Qt.Key.Key_P)
    vp = w.canvas.viewport()
    corners = [(20, 40), (90, 40), (90, 100), (20, 100)]
    views = [w.canvas.view_point(x, y) for x, y in corners]
    for p in views:
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
    QTest.keyClick(w.canvas, Qt.Key.Key_Return)
    wait_stored(qtbot, w)
    expected = polygon_fill((120, 160), [w.canvas.image_point(p) for p in views])
    stored = w.project.store.annotations(video_id=w.video.id, frame=0)[0].mask()
    assert np.array_equal(stored, expected)
    # punch a hole with the eraser, then H fills it again
    press(qtbot, w, Qt.Key.Key_E)
    w.edit.set_brush_radius(4)
    drag(w, [(55, 70)])
    wait_stored(qtbot, w)
    assert not w.project.store.annotations(video_id=w.video.id, frame=0)[0].mask()[70, 55]
    press(qtbot, w, Qt.Key.Key_H)
    wait_stored(qtbot, w)
    assert np.array_equal(w.project.store.annotations(video_id=w.video.id, frame=0)[0].mask(), expected)
    # next keyframe, copy from the previous one
    press(qtbot, w, Qt.Key.Key_Period)
    wait_shown(qtbot, w, FPS)
    press(qtbot, w, Qt.Key.Key_C)
    wait_stored(qtbot, w)
    rows = w.project.store.annotations(video_id=w.video.id, frame=FPS)
    assert [(r.object_id, r.status) for r in rows] == [(oid, "edited")]
    assert np.array_equal(rows[0].mask(), expected)


def test_undo_redo_also_after_restart(qtbot, video_project, gui_settings):
    w = open_window(qtbot, video_project, gui_settings)
    _add_object(qtbot, w)
    press(qtbot, w, Qt.Key.Key_B)
    w.edit.set_brush_radius(6)
    pos1 = drag(w, [(40, 60), (60, 60)])
    wait_stored(qtbot, w)
    first = w.project.store.annotations(video_id=w.video.id, frame=0)[0].mask()
    pos2 = drag(w, [(40, 90), (60, 90)])
    wait_stored(qtbot, w)
    both = w.project.store.annotations(video_id=w.video.id, frame=0)[0].mask()
    expected_both = brush_stroke(first, [w.canvas.image_point(p) for p in pos2], 6)
    assert np.array_equal(both, expected_both)
    assert np.array_equal(
        first, brush_stroke(np.zeros((120, 160), bool), [w.canvas.image_point(p) for p in pos1], 6)
    )

    press(qtbot, w, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_stored(qtbot, w)
    assert np.array_equal(w.project.store.annotations(video_id=w.video.id, frame=0)[0].mask(), first)
    assert np.array_equal(w.canvas.overlay_rgba()[..., 3] > 0, first)

    # close the window and the project, reopen both: redo, then undo twice
    project_dir = w.project.dir
    close_window(qtbot, w)
    from avs_studio.jobs import open_project

    project = open_project(project_dir)
    w2 = open_window(qtbot, project, gui_settings)
    press(qtbot, w2, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    wait_stored(qtbot, w2)
    assert np.array_equal(w2.project.store.annotations(video_id=w2.video.id, frame=0)[0].mask(), both)
    press(qtbot, w2, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    press(qtbot, w2, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    wait_stored(qtbot, w2)
    assert w2.project.store.annotations(video_id=w2.video.id, frame=0) == []
    close_window(qtbot, w2)


def test_accept_reject_and_clip_and_next_review(qtbot, main_window):
    w = main_window
    store, vid = w.project.store, w.video.id
    a = store.add_object(vid, "drum")
    b = store.add_object(vid, "bird")
    m = np.zeros((120, 160), bool)
    m[50:70, 40:80] = True
    for f in (0, FPS, 2 * FPS, 5 * FPS):
        store.put_annotation(vid, f, a, m, source="proposal", status="proposed")
    store.put_annotation(vid, 0, b, ~m, source="proposal", status="proposed")
    w.session.reload()
    press(qtbot, w, Qt.Key.Key_1)
    assert w.session.selected_object == a
    press(qtbot, w, Qt.Key.Key_A)
    wait_stored(qtbot, w)
    row = store.annotations(video_id=vid, frame=0, status="accepted")
    assert [r.object_id for r in row] == [a]
    assert row[0].reviewed_by == store.author and row[0].reviewed_at is not None
    assert "accepted by" in w.status.review_label.text()
    press(qtbot, w, Qt.Key.Key_2)
    press(qtbot, w, Qt.Key.Key_R)
    wait_stored(qtbot, w)
    assert store.annotations(video_id=vid, frame=0, status="rejected")[0].object_id == b
    # N: frame 0 is done; next needing review is keyframe 1 s (proposed)
    press(qtbot, w, Qt.Key.Key_N)
    wait_shown(qtbot, w, FPS)
    # Shift+A accepts the whole 0-5 s clip (frames 0..49), not the 5 s keyframe
    press(qtbot, w, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    wait_stored(qtbot, w)
    statuses = {r.frame: r.status for r in store.annotations(video_id=vid) if r.object_id == a}
    assert statuses == {0: "accepted", FPS: "accepted", 2 * FPS: "accepted", 5 * FPS: "proposed"}
    # N now skips to keyframe 3 s (never processed)
    press(qtbot, w, Qt.Key.Key_N)
    wait_shown(qtbot, w, 3 * FPS)
    assert w.session.states[:3] == ["accepted", "accepted", "accepted"]


def test_mask_modes_and_objects(qtbot, main_window):
    w = main_window
    store, vid = w.project.store, w.video.id
    a = store.add_object(vid, "drum")
    m = np.zeros((120, 160), bool)
    m[40:80, 40:100] = True
    store.put_annotation(vid, 0, a, m, source="proposal", status="proposed")
    w.session.reload()
    fill = w.canvas.overlay_rgba()
    assert fill[60, 70, 3] == 115 and fill[40, 40, 3] == 255 and fill[10, 10, 3] == 0
    press(qtbot, w, Qt.Key.Key_O)
    outline = w.canvas.overlay_rgba()
    assert w.canvas.mask_mode == "outline" and outline[60, 70, 3] == 0 and outline[40, 40, 3] == 255
    press(qtbot, w, Qt.Key.Key_O)
    assert w.canvas.mask_mode == "hidden" and not w.canvas.overlay_rgba()[..., 3].any()
    press(qtbot, w, Qt.Key.Key_O)
    # rename, hide, merge, delete go to the store
    w.object_panel.rename_requested.emit(a, "snare drum")
    wait_stored(qtbot, w)
    assert store.objects(vid)[0].label == "snare drum"
    w.object_panel.flags_changed.emit(a, False, True)
    wait_stored(qtbot, w)
    assert (store.objects(vid)[0].visible, store.objects(vid)[0].locked) == (False, True)
    assert not w.canvas.overlay_rgba()[..., 3].any()
    # locked: the brush refuses to change it
    press(qtbot, w, Qt.Key.Key_B)
    drag(w, [(10, 100), (20, 100)])
    wait_stored(qtbot, w)
    assert np.array_equal(store.annotations(video_id=vid, frame=0)[0].mask(), m)
    b = store.add_object(vid, "cymbal")
    w.objects.merge(a, b)
    wait_stored(qtbot, w)
    assert [o.id for o in store.objects(vid)] == [a]
    w.object_panel.table.selectRow(0)
    w.object_panel.delete_button.click()
    wait_stored(qtbot, w)
    assert store.objects(vid) == [] and store.annotations(video_id=vid) == []


@pytest.mark.parametrize("action_id,key", [("accept", "A"), ("undo", "Ctrl+Z"), ("shortcuts", "F1")])
def test_actions_show_keys_and_rebind(qtbot, main_window, gui_settings, action_id, key):
    w = main_window
    action = w.action_table[action_id]
    assert action.shortcut().toString() == key
    assert f"({key})" in action.toolTip()
    w.action_table.set_keys(action_id, ["Ctrl+Alt+K"])
    assert action.shortcut().toString() == "Ctrl+Alt+K" and "(Ctrl+Alt+K)" in action.toolTip()
    # a new window reads the binding back
    from avs_studio.gui.actions import ActionTable

    again = ActionTable(w, gui_settings)
    assert again[action_id].shortcut().toString() == "Ctrl+Alt+K"
    w.action_table.reset(action_id)
    assert action.shortcut().toString() == key


def test_f1_lists_every_action(qtbot, main_window):
    w = main_window
    press(qtbot, w, Qt.Key.Key_F1)
    from avs_studio.gui.shortcuts import ShortcutListDialog

    dialog = w.findChild(ShortcutListDialog)
    texts = {
        dialog.table.item(r, 0).text(): dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount())
    }
    assert texts["Accept clip"] == "Shift+A"
    assert texts["Next keyframe to review"] == "N"
    assert len(texts) == len(w.action_table.actions)
    assert not w.action_table.conflicts()
    dialog.close()


def test_zoom_pan_and_brush_cursor(qtbot, main_window):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QWheelEvent
    from PySide6.QtWidgets import QApplication

    w = main_window
    c = w.canvas
    scale = c.transform().m11()
    centre = QPointF(c.viewport().width() / 2, c.viewport().height() / 2)
    for _ in range(3):  # three wheel notches in
        event = QWheelEvent(
            centre, c.viewport().mapToGlobal(centre), QPoint(0, 0), QPoint(0, 120),
            Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
        )  # fmt: skip
        QApplication.sendEvent(c.viewport(), event)
    assert c.transform().m11() == pytest.approx(scale * 1.25**3)
    # middle drag pans
    h0, v0 = c.horizontalScrollBar().value(), c.verticalScrollBar().value()
    vp = c.viewport()
    QTest.mousePress(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 200))
    QTest.mouseMove(vp, QPoint(260, 170))
    QTest.mouseRelease(vp, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier, QPoint(260, 170))
    assert (c.horizontalScrollBar().value(), c.verticalScrollBar().value()) == (h0 + 40, v0 + 30)
    # Space held + left drag pans too, and does not start playback
    c.setFocus()
    QTest.keyPress(c, Qt.Key.Key_Space)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(300, 200))
    QTest.mouseMove(vp, QPoint(280, 200))
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(280, 200))
    QTest.keyRelease(c, Qt.Key.Key_Space)
    assert c.horizontalScrollBar().value() == h0 + 60 and not w.playback.is_playing()
    # brush size keys and the cursor circle
    QTest.keyClick(c, Qt.Key.Key_B)
    w.edit.set_brush_radius(8)
    QTest.keyClick(c, Qt.Key.Key_BracketRight)
    assert w.session.brush_radius == pytest.approx(10)
    QTest.keyClick(c, Qt.Key.Key_BracketLeft)
    QTest.keyClick(c, Qt.Key.Key_BracketLeft)
    assert w.session.brush_radius == pytest.approx(6.4)
    middle = QPoint(vp.width() // 2, vp.height() // 2)
    QTest.mouseMove(vp, middle)
    circle = w.tools["brush"].circle
    assert circle.isVisible() and circle.rect().width() == pytest.approx(12.8)
    x, y = c.image_point(middle)
    assert (circle.rect().center().x(), circle.rect().center().y()) == (
        pytest.approx(x + 0.5),
        pytest.approx(y + 0.5),
    )
    QTest.keyClick(c, Qt.Key.Key_O)
    assert c.mask_mode == "outline"


def test_polygon_closes_on_double_click(qtbot, main_window):
    w = main_window
    _add_object(qtbot, w)
    QTest.keyClick(w.canvas, Qt.Key.Key_P)
    vp = w.canvas.viewport()
    views = [w.canvas.view_point(x, y) for x, y in [(30, 50), (120, 50), (75, 100)]]
    for p in views[:-1]:
        QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, p)
    QTest.mouseClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, views[-1])
    QTest.mouseDClick(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, views[-1])
    wait_stored(qtbot, w)
    expected = polygon_fill((120, 160), [w.canvas.image_point(p) for p in views])
    assert np.array_equal(w.project.store.annotations(video_id=w.video.id, frame=0)[0].mask(), expected)
    assert w.tools["polygon"].points == []


def test_conflicting_write_is_reported_and_loses_nothing(qtbot, main_window):
    """Another writer changed the mask after this window read it: the stroke is refused, said so, and
    the other writer's mask stays (optimistic concurrency through expected_version)."""
    from avs_studio.store import Store

    w = main_window
    store, vid = w.project.store, w.video.id
    oid = store.add_object(vid, "drum")
    m = np.zeros((120, 160), bool)
    m[50:70, 40:80] = True
    store.put_annotation(vid, 0, oid, m, source="proposal", status="proposed")
    w.session.reload()
    other = Store(store.url, author="someone-else")
    theirs = np.zeros((120, 160), bool)
    theirs[10:20, 10:20] = True
    other.put_annotation(vid, 0, oid, theirs, source="manual", status="edited")
    other.close()
    QTest.keyClick(w.canvas, Qt.Key.Key_B)
    drag(w, [(100, 100), (110, 100)])
    wait_stored(qtbot, w)
    assert w.status.stored_label.text() == "NOT stored ✗"
    assert "not stored" in w.last_error
    row = store.annotations(video_id=vid, frame=0)[0]
    assert row.author == "someone-else" and np.array_equal(row.mask(), theirs)
    assert np.array_equal(w.canvas.overlay_rgba()[..., 3] > 0, theirs)  # the window shows what is stored
    # the next stroke starts from the stored mask and is stored
    drag(w, [(100, 100), (110, 100)])
    wait_stored(qtbot, w)
    assert w.status.stored_label.text() == "stored ✓"
    assert (store.annotations(video_id=vid, frame=0)[0].mask() & theirs).sum() == theirs.sum()


def test_painting_replaces_an_explicit_empty_proposal_and_resizes_small_masks(qtbot, main_window):
    w = main_window
    store, vid = w.project.store, w.video.id
    store.put_annotation(vid, 0, None, np.zeros((120, 160), bool), source="proposal", status="proposed")
    oid = store.add_object(vid, "drum")
    small = np.zeros((60, 80), bool)  # stored at half size (as an import at another resolution would)
    small[10:20, 10:20] = True
    store.put_annotation(vid, FPS, oid, small, source="imported", status="accepted")
    w.session.reload()
    press(qtbot, w, Qt.Key.Key_B)
    w.edit.set_brush_radius(4)
    drag(w, [(100, 100), (104, 100)])
    wait_stored(qtbot, w)
    assert [r.object_id for r in store.annotations(video_id=vid, frame=0)] == [oid]
    # the half-size mask is shown and edited at the frame's size
    w.nav.seek(FPS)
    wait_shown(qtbot, w, FPS)
    alpha = w.canvas.overlay_rgba()[..., 3] > 0
    assert alpha[20:40, 20:40].all() and alpha.sum() == 400
    drag(w, [(100, 100), (104, 100)])
    wait_stored(qtbot, w)
    row = store.annotations(video_id=vid, frame=FPS)[0]
    assert (row.height, row.width) == (120, 160) and row.mask()[20:40, 20:40].all() and row.status == "edited"


def test_accepting_a_silent_frame(qtbot, main_window):
    """A frame proposed as "nothing sounds here" (object None) is confirmed with A."""
    w = main_window
    store, vid = w.project.store, w.video.id
    store.put_annotation(vid, 0, None, np.zeros((120, 160), bool), source="proposal", status="proposed")
    w.session.reload()
    assert w.session.states[0] == "proposed"
    press(qtbot, w, Qt.Key.Key_A)
    wait_stored(qtbot, w)
    assert [(r.object_id, r.status) for r in store.annotations(video_id=vid, frame=0)] == [(None, "accepted")]
    assert w.session.states[0] == "accepted"


def test_the_clip_is_the_profiles_clip_length(qtbot, main_window, tmp_path):
    """Shift+A and L use the profile's clip length in keyframes (here 2), not 5 s."""
    from avs_studio.openavs import load_config

    w = main_window
    toml = tmp_path / "two.toml"
    toml.write_text(
        '[pipeline]\nclip_seconds = 2\n[[describers]]\nname = "fixed"\ntexts = ["x"]\n'
        '[translator]\nname = "keyword"\nkeywords = {}\n[segmenter]\nname = "color-box"\n'
    )
    w.worker.set_profile(load_config(toml))
    store, vid = w.project.store, w.video.id
    oid = store.add_object(vid, "drum")
    m = np.zeros((120, 160), bool)
    m[50:70, 40:80] = True
    for f in (0, FPS, 2 * FPS, 3 * FPS):
        store.put_annotation(vid, f, oid, m, source="proposal", status="proposed")
    w.session.reload(all_frames=True)
    press(qtbot, w, Qt.Key.Key_A, Qt.KeyboardModifier.ShiftModifier)
    wait_stored(qtbot, w)
    assert {r.frame: r.status for r in store.annotations(video_id=vid)} == {
        0: "accepted",
        FPS: "accepted",
        2 * FPS: "proposed",
        3 * FPS: "proposed",
    }
    w.nav.seek(25)
    wait_shown(qtbot, w, 25)
    w.action_table["loop_clip"].trigger()
    t0, t1 = w.playback.loop_range()
    assert (t0, t1) == (pytest.approx(2.0), pytest.approx(4.0))
