"""Propagation and the mask strip through the real window: Ctrl+Shift+P propagates the accepted keyframes
as a job, the proposals show on the timeline strip and on the canvas when stepping frame by frame; an edit
on a non-keyframe is stored, coloured on the strip, and exported densely."""

from __future__ import annotations

import json
import threading

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QKeySequence

from avs_studio.gui.timeline import STATUS_COLOURS, STRIP_BACKGROUND, STRIP_H, TICK_H
from avs_studio.jobs.exporting import export_dataset
from avs_studio.masks import brush_stroke
from tests.gui.conftest import close_window, open_window
from tests.gui.test_main_window import drag, press, wait_shown, wait_stored
from tests.helpers.moving_objects import iou
from tests.helpers.scene_project import FRAMES, scene_project

JOB_S = 60_000


@pytest.fixture
def scene_window(qtbot, tmp_path, gui_settings):
    project, vid, objs, scene = scene_project(tmp_path)
    window = open_window(qtbot, project, gui_settings)
    yield window, vid, objs, scene
    close_window(qtbot, window)
    project.close()


def pixels(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    return arr[:, : img.width() * 3].reshape(img.height(), img.width(), 3).copy()


def colour_at(window, frame: int, row: int) -> str:
    """The timeline colour (#rrggbb) in the middle of ``frame``'s columns on ``row``."""
    tl = window.timeline
    fps = window.video.fps
    x = round(tl.x_for_time((frame + 0.5) / fps))
    r, g, b = pixels(tl)[row, x]
    return f"#{r:02x}{g:02x}{b:02x}"


def near(hex_a: str, hex_b: str, tol: int = 6) -> bool:
    a, b = (np.array([int(h[i : i + 2], 16) for i in (1, 3, 5)]) for h in (hex_a, hex_b))
    return bool((np.abs(a - b) <= tol).all())


def strip_row(window) -> int:
    return window.timeline.height() - TICK_H - STRIP_H // 2


def test_propagate_key_fills_the_frames_between_keyframes_and_shows_them(qtbot, scene_window, screenshot_dir):
    w, vid, objs, truth = scene_window
    keys = set(truth.keyframes())
    qtbot.waitUntil(lambda: w.timeline.frame_status() == dict.fromkeys(keys, "accepted"), timeout=10000)
    assert near(colour_at(w, 5, strip_row(w)), STRIP_BACKGROUND)
    assert near(colour_at(w, 10, strip_row(w)), STATUS_COLOURS["accepted"])
    action = w.action_table["propagate_all"]
    assert action.shortcut() == QKeySequence("Ctrl+Shift+P") and action in w.menus["Annotate"].actions()
    assert w.action_table["propagate_object"].shortcut() == QKeySequence("Ctrl+P")
    with qtbot.waitSignal(w.worker.job_finished, timeout=JOB_S) as finished:
        press(qtbot, w, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert finished.args[1] == "done", finished.args
    rows = w.project.store.annotations(video_id=vid, source="propagation")
    assert {r.frame for r in rows} == set(range(FRAMES)) - keys
    assert {r.status for r in rows} == {"proposed"}
    label = {v: k for k, v in objs.items()}
    assert np.mean([iou(r.mask(), truth.masks(r.frame)[label[r.object_id]]) for r in rows]) > 0.8
    # the jobs dock lists it, done, its progress bar full (frames counted)
    table = w.jobs_panel.table
    (r,) = [r for r in range(table.rowCount()) if "Propagate all objects" in table.item(r, 0).text()]
    bar = table.cellWidget(r, 2)
    assert (
        table.item(r, 1).text() == "done"
        and bar.maximum() == FRAMES - len(keys)
        and bar.value() == bar.maximum()
    )
    # the strip: every frame has masks now, amber between the green keyframes
    qtbot.waitUntil(lambda: len(w.timeline.frame_status()) == FRAMES, timeout=5000)
    for f in (1, 5, 15, 29):
        assert near(colour_at(w, f, strip_row(w)), STATUS_COLOURS["proposed"]), f
    assert near(colour_at(w, 20, strip_row(w)), STATUS_COLOURS["accepted"])
    # step to a non-keyframe with the arrow keys: the canvas draws the propagated masks there
    for f in range(1, 4):
        press(qtbot, w, Qt.Key.Key_Right)
        wait_shown(qtbot, w, f)
    union = np.zeros((120, 160), bool)
    for r in rows:
        if r.frame == 3:
            union |= r.mask()
    alpha = w.canvas.overlay_rgba()[..., 3]
    assert union.sum() > 500 and np.array_equal(alpha > 0, union)
    w.grab().save(str(screenshot_dir / "main_window_propagation.png"))
    w.timeline.grab().save(str(screenshot_dir / "propagation_timeline.png"))
    # a proposal on a non-keyframe is reviewed like any other: A accepts it, the strip turns green there
    w.objects.select(objs["object 0"])
    press(qtbot, w, Qt.Key.Key_A)
    wait_stored(qtbot, w)
    statuses = {r.object_id: r.status for r in w.project.store.annotations(video_id=vid, frame=3)}
    assert statuses == {objs["object 0"]: "accepted", objs["object 1"]: "proposed"}
    w.objects.select(objs["object 1"])
    press(qtbot, w, Qt.Key.Key_A)
    wait_stored(qtbot, w)
    qtbot.waitUntil(lambda: near(colour_at(w, 3, strip_row(w)), STATUS_COLOURS["accepted"]), timeout=5000)


def test_editing_a_non_keyframe_is_stored_shown_and_exported(qtbot, scene_window, tmp_path, screenshot_dir):
    w, vid, objs, _ = scene_window
    for f in range(1, 8):
        press(qtbot, w, Qt.Key.Key_Right)
        wait_shown(qtbot, w, f)
    assert not w.session.is_keyframe(7) and "◆" not in w.status.frame_label.text()
    w.objects.select(objs["object 1"])
    press(qtbot, w, Qt.Key.Key_B)
    w.edit.set_brush_radius(6)
    pos = drag(w, [(20, 20), (60, 25), (90, 40)])
    wait_stored(qtbot, w)
    expected = brush_stroke(np.zeros((120, 160), bool), [w.canvas.image_point(p) for p in pos], 6)
    (row,) = w.project.store.annotations(video_id=vid, frame=7)
    assert (row.object_id, row.source, row.status) == (objs["object 1"], "manual", "edited")
    assert np.array_equal(row.mask(), expected)
    # visible: the strip shows the edited frame in blue, the message says what it means
    qtbot.waitUntil(lambda: near(colour_at(w, 7, strip_row(w)), STATUS_COLOURS["edited"]), timeout=5000)
    assert near(colour_at(w, 6, strip_row(w)), STRIP_BACKGROUND)
    assert "not a keyframe" in w.status.currentMessage()
    w.timeline.grab().save(str(screenshot_dir / "timeline_edited_non_keyframe.png"))
    press(qtbot, w, Qt.Key.Key_A)  # reviewed: accepted
    wait_stored(qtbot, w)
    assert w.project.store.annotation(row.id).status == "accepted"
    qtbot.waitUntil(lambda: near(colour_at(w, 7, strip_row(w)), STATUS_COLOURS["accepted"]), timeout=5000)
    # no silent drop: the dense formats export frame 7, AVSBench says it left it out
    png = export_dataset(w.project, tmp_path / "png", "png")
    name = w.video.name
    assert sorted(p.name for p in (tmp_path / "png" / "Annotations" / name).iterdir()) == [
        "00000.png",
        "00007.png",
        "00010.png",
        "00020.png",
    ]
    assert png.frames == 4
    export_dataset(w.project, tmp_path / "coco", "coco")
    coco = json.loads((tmp_path / "coco" / "annotations.json").read_text())
    assert sorted(img["frame_index"] for img in coco["images"]) == [0, 7, 10, 20]
    s4 = export_dataset(w.project, tmp_path / "s4", "avsbench-s4")
    assert s4.skipped_frames == 1 and "left out" in s4.summary()


def test_cancel_in_the_jobs_dock_stops_propagation(qtbot, scene_window):
    w, vid, objs, _ = scene_window
    gate = threading.Event()
    w.worker.submit(lambda: gate.wait(10))  # keep the worker busy so the job is still queued
    job = w.propagation.propagate_selected()
    table = w.jobs_panel.table
    (r,) = [r for r in range(table.rowCount()) if table.item(r, 0).data(256) == job]
    assert "'object 0'" in table.item(r, 0).text()
    with qtbot.waitSignal(w.worker.job_finished, timeout=JOB_S) as finished:
        table.cellWidget(r, 3).click()
        gate.set()
    assert finished.args[:2] == [job, "cancelled"]
    assert w.project.store.annotations(video_id=vid, source="propagation") == []


def test_the_propagation_engine_menu_sets_what_propagate_runs(qtbot, scene_window, screenshot_dir):
    from avs_studio import extras
    from avs_studio.settings import PROPAGATION_ENGINE

    w, *_ = scene_window
    menu, annotate = w.propagation_engine_menu, w.menus["Annotate"]
    assert menu.menuAction() in annotate.actions()  # Annotate ▸ Propagation engine, beside Propagate
    menu.aboutToShow.emit()
    video_ok = extras.available("models")
    assert menu.entries() == [("flow", True, True), ("sam2", False, video_ok), ("sam3", False, video_ok)]
    store = w.project.store
    menu.actions()[2].trigger()  # sam3
    qtbot.waitUntil(lambda: store.get_setting(PROPAGATION_ENGINE) == "sam3", timeout=5000)
    menu.aboutToShow.emit()
    assert [e for e, checked, _ in menu.entries() if checked] == ["sam3"]
    assert "Propagate now runs sam3" in w.status.currentMessage()
    menu.actions()[0].trigger()
    qtbot.waitUntil(lambda: store.get_setting(PROPAGATION_ENGINE) == "flow", timeout=5000)
    # the menu as a user sees it
    annotate.popup(w.mapToGlobal(w.rect().center()))
    menu.popup(annotate.geometry().topRight())
    qtbot.wait(100)
    menu.grab().save(str(screenshot_dir / "propagation_engine_menu.png"))
    annotate.grab().save(str(screenshot_dir / "annotate_menu.png"))
    menu.hide()
    annotate.hide()


def test_a_video_model_engine_without_weights_names_the_model(qtbot, scene_window, monkeypatch):
    """Propagate with sam2 chosen but its weights not cached (offline): the job fails and the window
    names the model and how to bring it in; nothing is written."""
    from avs_studio import extras

    if not extras.available("models"):
        pytest.skip("the [models] extra is not installed")
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    w, vid, *_ = scene_window
    store = w.project.store
    w.propagation_engine_menu.actions()[1].trigger()  # sam2
    qtbot.waitUntil(lambda: w.propagation.engine_name() == "sam2", timeout=5000)
    press(qtbot, w, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(lambda: "failed" in w.jobs_panel.states.values(), timeout=JOB_S)
    qtbot.waitUntil(lambda: w.last_error is not None and "sam2" in w.last_error, timeout=5000)
    assert "avs-studio models import" in w.last_error, w.last_error
    assert store.annotations(video_id=vid, source="propagation") == []
