"""Shared GUI fixtures: a real project (generated mp4 or the sample), a real MainWindow, offscreen."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings  # noqa: E402

from avs_studio.jobs import add_videos, init_project  # noqa: E402
from tests.helpers.media_factory import make_video  # noqa: E402

FPS = 10
FRAMES = 60  # 6 s: two 5-s clips, six keyframes


@pytest.fixture
def gui_settings(tmp_path: Path) -> QSettings:
    """Private QSettings (shortcuts, brush size) so tests never touch the user's."""
    return QSettings(str(tmp_path / "gui.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def video_file(tmp_path: Path) -> Path:
    return make_video(tmp_path / "media" / "counter.mp4", frames=FRAMES, fps=FPS, size=(160, 120), gop=10)


@pytest.fixture
def video_project(tmp_path: Path, video_file: Path):
    project = init_project(tmp_path / "project")
    report = add_videos(project, [video_file], split="train", category="test")
    assert report.added, report.skipped
    yield project
    project.close()


def open_window(qtbot, project, settings, worker=None):
    from avs_studio.gui.main_window import MainWindow

    window = MainWindow(project, settings=settings, worker=worker, ask=False)
    window.object_panel.confirm_delete = False
    qtbot.addWidget(window)
    window.resize(1200, 800)
    window.show()
    qtbot.waitUntil(lambda: window.canvas.frame_index == window.frame and window.frame >= 0, timeout=10000)
    return window


def close_window(qtbot, window) -> None:
    if window.isVisible():
        window.close()


@pytest.fixture
def main_window(qtbot, video_project, gui_settings):
    """A real MainWindow on a project made from a generated counter video (first frame shown)."""
    window = open_window(qtbot, video_project, gui_settings)
    yield window
    close_window(qtbot, window)


@pytest.fixture
def sample_project(tmp_path: Path):
    """A fresh copy of the bundled sample project in tmp_path."""
    from avs_studio.jobs.sample import open_sample_project

    project = open_sample_project(tmp_path / "sample-project")
    yield project
    project.close()
