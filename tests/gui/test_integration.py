"""The other GUI parts plugged into the main window: timeline, playback, settings, shortcut editor,
model download; and the project panel's filters."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from avs_studio.openavs import PipelineConfig
from tests.gui.conftest import FPS
from tests.helpers.media_factory import read_counter


def test_timeline_click_seeks_and_follows(qtbot, main_window):
    w = main_window
    tl = w.timeline
    qtbot.waitUntil(lambda: tl.keyframe_status() != {}, timeout=10000)
    assert tl.keyframe_status() == {k: "unprocessed" for k in w.session.keyframes}
    x = int(tl.x_for_time(3.0 + 0.5 / FPS))
    QTest.mouseClick(
        tl, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(x, tl.height() // 2)
    )
    qtbot.waitUntil(lambda: w.canvas.frame_index == 3 * FPS, timeout=10000)
    assert read_counter(w.canvas.displayed_image()) == 3 * FPS
    w.nav.step(1)
    assert tl.frame() == 3 * FPS + 1  # the playhead follows keyboard steps


def test_space_plays_and_pauses(qtbot, main_window):
    w = main_window
    qtbot.waitUntil(lambda: w.playback.frame_count() == w.video.frame_count, timeout=10000)  # media loaded
    w.canvas.setFocus()
    QTest.keyClick(w.canvas, Qt.Key.Key_Space)  # a tap (no drag): play
    qtbot.waitUntil(w.playback.is_playing, timeout=5000)
    qtbot.waitUntil(lambda: w.canvas.frame_index >= 5, timeout=10000)
    QTest.keyClick(w.canvas, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: not w.playback.is_playing(), timeout=5000)
    shown = w.canvas.frame_index
    assert read_counter(w.canvas.displayed_image()) == shown
    qtbot.wait(300)
    assert w.frame - shown <= 1  # paused: the position stays


def test_settings_dialog_sets_the_worker_config(qtbot, main_window):
    from avs_studio.gui.settings_dialog import default_settings

    w = main_window
    dialog = w.pipeline_menu.show_settings()
    values = default_settings("tiny-random")
    values["device"] = "cpu"
    dialog.set_values(values)
    dialog.accept()
    qtbot.waitUntil(w.writer.idle)
    stored = w.project.store.get_setting("pipeline")
    assert stored["profile"] == "tiny-random" and stored["device"] == "cpu"
    assert isinstance(w.worker.profile, PipelineConfig) and w.worker.profile.profile == "tiny-random"
    # the profile menu starts from a built-in profile and is remembered by the project
    w.pipeline_menu.set_profile("offline")
    qtbot.waitUntil(w.writer.idle)
    assert w.project.store.get_setting("pipeline")["profile"] == "offline"
    w.pipeline_menu.fill()
    assert [a.text() for a in w.pipeline_menu.menu.actions() if a.isChecked()] == ["offline"]


def test_shortcut_editor_rebinds_and_remembers(qtbot, main_window, gui_settings):
    w = main_window
    from avs_studio.gui import menus

    dialog = menus.edit_shortcuts(w)
    assert dialog.set_key("accept", "Ctrl+Alt+A") is None
    assert dialog.set_key("reject", "Ctrl+Alt+A") is not None  # a conflict is refused with a message
    dialog.accept()
    assert w.action_table["accept"].shortcut().toString() == "Ctrl+Alt+A"
    assert "(Ctrl+Alt+A)" in w.action_table["accept"].toolTip()
    from avs_studio.gui.actions import ActionTable

    assert ActionTable(w, gui_settings)["accept"].shortcut().toString() == "Ctrl+Alt+A"


def test_missing_model_is_reported_with_download(qtbot, main_window, tmp_path, monkeypatch):
    from avs_studio.openavs import load_config

    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    toml = tmp_path / "needs-sam.toml"
    toml.write_text(
        '[[describers]]\nname = "fixed"\ntexts = ["x"]\n[translator]\nname = "keyword"\nkeywords = {}\n'
        '[segmenter]\nname = "color-box"\n[point_segmenter]\nname = "sam"\nmodel = "sam-vit-b"\n'
    )
    w = main_window
    w.worker.set_profile(load_config(toml))
    w.project.store.add_object(w.video.id, "thing")
    w.session.reload()
    QTest.keyClick(w.canvas, Qt.Key.Key_S)
    qtbot.waitUntil(lambda: "sam-vit-b" in (getattr(w, "last_error", "") or ""), timeout=30000)
    assert "avs-studio models download sam-vit-b" in w.last_error
    dialog = w.pipeline_menu.download_models()
    assert dialog is not None and dialog.table.item(0, 0).text().startswith("sam-vit-b")
    assert not dialog.is_running()
    dialog.close()


def test_project_panel_filters(qtbot, main_window, tmp_path):
    from avs_studio.jobs import add_videos
    from tests.helpers.media_factory import make_video

    w = main_window
    store = w.project.store
    other = make_video(tmp_path / "val.mp4", frames=20, fps=10, size=(96, 64))
    (vid2,) = [i for _, i in add_videos(w.project, [other], split="val").added]
    oid = store.add_object(vid2, "x")
    m = np.ones((64, 96), bool)
    for k in (0, 10):
        store.put_annotation(vid2, k, oid, m, source="manual", status="accepted")
    with qtbot.waitSignal(w.project_panel.refreshed, timeout=10000):
        w.project_panel.refresh()
    panel = w.project_panel
    assert panel.row_count() == 2
    w.project_panel.split_box.setCurrentText("val")
    assert panel.row_count() == 1 and panel.row_text(0, 2) == "100%"
    w.project_panel.split_box.setCurrentText("all")
    w.project_panel.status_box.setCurrentText("needs review")
    assert [panel.row_text(i, 1) for i in range(panel.row_count())] == ["train"]
    w.project_panel.status_box.setCurrentText("done")
    assert [panel.row_text(i, 1) for i in range(panel.row_count())] == ["val"]
    assert panel.row_text(0, 5) == "2"  # accepted masks
