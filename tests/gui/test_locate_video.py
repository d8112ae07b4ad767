"""A video whose file moved: the window says so (canvas and one dialog, no traceback) and File ▸ Locate
video… points the project at the file after checking its content; a wrong file is refused clearly."""

from __future__ import annotations

import shutil

import numpy as np
from PySide6.QtWidgets import QFileDialog

from tests.gui.test_proposals import shot
from tests.helpers.media_factory import make_video, read_counter


def test_a_missing_video_is_said_and_located(qtbot, tmp_path, video_project, video_file, gui_settings,
                                             monkeypatch):  # fmt: skip
    from avs_studio.gui.main_window import MainWindow

    vid = video_project.store.videos()[0].id
    moved = tmp_path / "elsewhere" / "counter.mp4"
    moved.parent.mkdir()
    shutil.move(video_file, moved)
    w = MainWindow(video_project, settings=gui_settings, ask=True)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitUntil(w.problems.is_open, timeout=10000)
    text = w.problems.text()
    assert "The file of video “counter” is not at" in text and "File ▸ Locate video…" in text
    assert "Traceback" not in text and w.canvas.displayed_image() is None
    assert "Locate video…" in w.canvas.notice
    canvas = w.canvas.grab().toImage()
    light = [canvas.pixelColor(x, y).lightness() for x in range(0, canvas.width(), 3)
             for y in range(0, canvas.height(), 3)]  # fmt: skip
    assert max(light) > 150  # the message is drawn on the dark canvas, not a blank
    qtbot.waitUntil(lambda: w.project_panel.model.rowCount() == 1, timeout=10000)  # still listed
    shot(w, "video_missing.png")
    # a wrong file: refused, saying why, nothing changed
    wrong = make_video(tmp_path / "other.mp4", frames=60, fps=10, size=(160, 120), crf=30)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(wrong), ""))
    w.problems.click("Locate video…")
    qtbot.waitUntil(lambda: w.writer.idle() and w.problems.is_open(), timeout=10000)
    assert "content differs" in w.problems.text() and "Pick the original file" in w.problems.text()
    assert w.project.store.video(vid).path == str(video_file)
    w.problems.box.done(0)
    # the right file, through File ▸ Locate video…
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(moved), ""))
    locate = w.action_table["locate_video"]
    assert locate in w.menus["File"].actions()
    locate.trigger()
    qtbot.waitUntil(lambda: w.canvas.frame_index >= 0, timeout=10000)
    assert w.project.store.video(vid).path == str(moved)
    assert read_counter(w.canvas.displayed_image()) == w.canvas.frame_index
    assert not w.problems.is_open() and isinstance(w.canvas.displayed_image(), np.ndarray)
    w.close()
