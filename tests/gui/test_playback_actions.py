"""Playback speed (Ctrl+Up / Ctrl+Down, 0.25x–2x) and looping the current clip (L) from the main window."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.gui.conftest import FPS


def test_speed_steps_and_clamps(qtbot, main_window):
    w = main_window
    assert w.playback.speed() == 1.0
    qtbot.keyClick(w, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClick(w, Qt.Key.Key_Up, Qt.KeyboardModifier.ControlModifier)
    assert w.playback.speed() == 1.5
    for _ in range(4):
        w.action_table["faster"].trigger()
    assert w.playback.speed() == 2.0  # clamped
    for _ in range(10):
        w.action_table["slower"].trigger()
    assert w.playback.speed() == 0.25
    assert "0.25x" in w.status.currentMessage()


def test_loop_keeps_playback_inside_the_clip(qtbot, main_window):
    w = main_window
    w.nav.seek(55)  # second clip: frames 50..59 (5 s clips at 10 fps, 6 s video)
    qtbot.waitUntil(lambda: w.canvas.frame_index == 55, timeout=5000)
    qtbot.keyClick(w, Qt.Key.Key_L)
    assert w.action_table["loop_clip"].isChecked()
    t0, t1 = w.playback.loop_range()
    assert t0 == pytest.approx(50 / FPS) and t1 == pytest.approx(60 / FPS)
    shown: list[int] = []
    w.playback.frameChanged.connect(shown.append)
    w.playback.play(55)
    qtbot.wait(2500)  # 2.5 s of a 1-s loop: it must wrap at least twice
    w.playback.pause()
    assert shown and all(50 <= f <= 59 for f in shown), shown
    wraps = sum(1 for a, b in zip(shown, shown[1:]) if b < a)
    assert wraps >= 2
    w.action_table["loop_clip"].trigger()
    assert w.playback.loop_range() is None
