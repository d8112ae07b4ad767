"""Start-up: sample project copied to the user data dir, non-project folders, `avs-studio gui`, menus."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from avs_studio.app import resolve_project
from avs_studio.gui import file_jobs
from avs_studio.jobs import is_project
from tests.gui.conftest import close_window, open_window

ROOT = Path(__file__).resolve().parents[2]


def test_no_folder_opens_sample_copied_to_user_data(qtbot, gui_settings):
    before = sorted(p.name for p in (ROOT / "avs_studio" / "resources" / "sample").iterdir())
    project = resolve_project(None)
    try:
        data = Path(os.environ["AVS_STUDIO_DATA"])
        assert project.dir.is_relative_to(data.resolve()) and is_project(project.dir)
        videos = project.store.videos()
        assert len(videos) == 1 and videos[0].frame_count > 0
        w = open_window(qtbot, project, gui_settings)
        assert w.canvas.image is not None and w.canvas.image.shape[:2] == (videos[0].height, videos[0].width)
        qtbot.waitUntil(lambda: w.project_panel.row_count() == 1, timeout=5000)
        # first run: the clip with proposals to review, as the README's screenshot shows
        assert [o.label for o in w.session.objects] == ["drum", "bird"]
        assert w.session.states == ["proposed"] * 8
        drum = w.canvas.overlay_rgba()[..., 3] > 0
        img = w.canvas.image.astype(int)
        red = (img[..., 0] > 140) & (img[..., 1] < 80) & (img[..., 2] < 80)
        assert (drum & red).sum() > 0.9 * red.sum() and drum.sum() < 1.2 * red.sum()  # the drum's mask
        QTest.keyClick(w.canvas, Qt.Key.Key_N)  # the next keyframe to review
        qtbot.waitUntil(lambda: w.canvas.frame_index == 25, timeout=10000)
        from tests.gui.test_proposals import shot

        shot(w, "first_run_sample.png")
        close_window(qtbot, w)
    finally:
        if project.store is not None:
            project.close()
    assert (
        sorted(p.name for p in (ROOT / "avs_studio" / "resources" / "sample").iterdir()) == before
    )  # nothing written there


def test_non_project_folder_asks_before_creating(tmp_path):
    asked: list[str] = []
    assert resolve_project(tmp_path / "new", confirm=lambda q: asked.append(q) or False) is None
    assert asked and "not an AVS Studio project" in asked[0] and not is_project(tmp_path / "new")
    project = resolve_project(tmp_path / "new", confirm=lambda q: True)
    assert is_project(tmp_path / "new") and project.store.videos() == []
    project.close()
    again = resolve_project(tmp_path / "new", confirm=lambda q: False)  # a project now: no question
    assert again is not None
    again.close()


def test_gui_command_is_registered():
    from avs_studio.cli import build_parser
    from avs_studio.commands.gui import cmd_gui

    args = build_parser().parse_args(["gui", "somewhere"])
    assert args.func is cmd_gui and args.project_dir == "somewhere"


def test_open_path_switches_projects(qtbot, main_window, tmp_path):
    w = main_window
    assert not w.open_path(tmp_path / "plain")  # not a project, and tests never get asked
    assert w.open_path(tmp_path / "fresh", create=True)
    assert w.project.dir == (tmp_path / "fresh").resolve() and w.video is None
    assert w.project_panel.row_count() == 0


def test_menus_have_import_export_and_no_dead_entries(main_window):
    w = main_window
    texts = {a.text() for a in w.menus["File"].actions()}
    assert {"Import AVSBench…", "Export…"} <= texts
    profiles = [a.text() for a in w.pipeline_menu.menu.actions()]
    assert "tiny-random" not in profiles and "default" in profiles  # the test-only profile is not offered
    for menu in w.menus.values():
        for action in menu.actions():
            if action.isSeparator() or action.menu() is not None or not action.isVisible():
                continue
            assert action.receivers("2triggered(bool)") > 0 or action.isCheckable(), action.text()


def test_export_runs_on_io_thread(qtbot, main_window, tmp_path):
    from avs_studio.gui.export_dialog import start_export

    w = main_window
    store, vid = w.project.store, w.video.id
    oid = store.add_object(vid, "square")
    m = np.zeros((120, 160), bool)
    m[10:30, 20:50] = True
    store.put_annotation(vid, 0, oid, m, source="manual", status="accepted")
    job = start_export(w, str(tmp_path / "out"), "png", status="accepted")
    qtbot.waitUntil(lambda: w.jobs_panel.states.get(job) == "done", timeout=30000)
    assert any((tmp_path / "out").rglob("*.png"))


def test_add_videos_job_refreshes_panel(qtbot, main_window, tmp_path):
    from tests.helpers.media_factory import make_corrupt_file, make_video

    w = main_window
    good = make_video(tmp_path / "second.mp4", frames=20, fps=10, size=(96, 64))
    bad = make_corrupt_file(tmp_path / "broken.mp4")
    job = file_jobs.start_add_videos(w, [str(good), str(bad)])
    qtbot.waitUntil(lambda: w.jobs_panel.states.get(job) == "done", timeout=30000)
    qtbot.waitUntil(lambda: w.project_panel.row_count() == 2, timeout=5000)
    assert "broken.mp4" in w.last_error
    # selecting it in the panel shows its first frame
    w.project_panel.activate_row(1)
    qtbot.waitUntil(
        lambda: w.canvas.image is not None and w.canvas.image.shape[:2] == (64, 96), timeout=10000
    )
    QTest.keyClick(w.canvas, Qt.Key.Key_Right)
    qtbot.waitUntil(lambda: w.canvas.frame_index == 1, timeout=10000)


def test_main_opens_the_given_project(qtbot, video_project, monkeypatch):
    """`python main.py PROJECT` / `avs-studio gui PROJECT`: the window shows that project's first video."""
    from PySide6.QtWidgets import QApplication

    import avs_studio.app as app_module
    from avs_studio.gui.main_window import MainWindow

    project_dir = video_project.dir
    video_project.close()
    seen: dict = {}

    def fake_exec(self) -> int:
        (window,) = [w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible()]
        qtbot.waitUntil(lambda: window.canvas.frame_index == 0, timeout=10000)
        seen["dir"], seen["video"] = window.project.dir, window.video.name
        window.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", fake_exec)
    assert app_module.main([str(project_dir)]) == 0
    assert seen == {"dir": project_dir, "video": "counter"}


def test_missing_video_file_is_reported_by_name(qtbot, video_project, video_file, gui_settings):
    from avs_studio.gui.main_window import MainWindow

    video_file.unlink()
    w = MainWindow(video_project, settings=gui_settings, ask=False)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: getattr(w, "last_error", None) is not None, timeout=10000)
    assert str(video_file) in w.last_error or video_file.name in w.last_error
    assert w.canvas.image is None  # nothing shown, nothing crashed
    w.close()
