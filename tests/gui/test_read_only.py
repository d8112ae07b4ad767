"""A project the user may not write (file permissions) opens read-only: the editing actions are off, a
"read-only" marker shows, browsing works, and not one byte of the project changes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from avs_studio.jobs import project as project_module
from tests.gui.test_proposals import shot


def _files(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()
    }


def test_a_read_only_project_opens_read_only(qtbot, video_project, gui_settings, monkeypatch):
    from avs_studio.gui.main_window import MainWindow

    store, folder = video_project.store, video_project.dir
    vid = store.videos()[0].id
    oid = store.add_object(vid, "drum")
    mask = np.zeros((120, 160), bool)
    mask[40:80, 40:100] = True
    store.put_annotation(vid, 0, oid, mask, source="proposal", status="proposed")
    video_project.close()
    os.chmod(folder / "project.db", 0o444)
    os.chmod(folder, 0o555)
    if os.geteuid() == 0:  # root may write anything: let the permission check see what a user would
        real = os.access
        monkeypatch.setattr(
            project_module.os, "access",
            lambda p, mode: False if mode == os.W_OK and str(folder) in str(p) else real(p, mode),
        )  # fmt: skip
    try:
        before = _files(folder)
        w = MainWindow(settings=gui_settings, ask=True)
        qtbot.addWidget(w)
        w.resize(1200, 800)
        w.show()
        assert w.open_path(folder)
        qtbot.waitUntil(lambda: w.canvas.frame_index == 0, timeout=10000)
        assert "no write permission" in w.project.read_only
        assert w.windowTitle().endswith("(read-only)")
        marker = w.status.read_only_label
        assert marker.isVisible() and marker.text() == "read-only"
        a = w.action_table
        for aid in ("accept", "reject", "accept_clip", "undo", "tool_brush", "tool_sam", "copy_previous"):
            assert not a[aid].isEnabled(), aid
        assert a["next_frame"].isEnabled() and a["play"].isEnabled()
        export = next(x for x in w.menus["File"].actions() if x.objectName() == "export_dataset")
        assert export.isEnabled()
        assert not w.object_panel.add_button.isEnabled()
        # browsing: the masks show, keys step frames
        assert (w.canvas.overlay_rgba()[..., 3] > 0).sum() == mask.sum()
        QTest.keyClick(w.canvas, Qt.Key.Key_Right)
        qtbot.waitUntil(lambda: w.canvas.frame_index == 1, timeout=10000)
        QTest.keyClick(w.canvas, Qt.Key.Key_Left)
        qtbot.waitUntil(lambda: w.canvas.frame_index == 0, timeout=10000)
        QTest.keyClick(w.canvas, Qt.Key.Key_A)  # disabled: nothing happens, no error dialog
        w.review.accept()  # even called directly, the controller refuses before the store
        qtbot.waitUntil(w.writer.idle, timeout=5000)
        assert "Read-only project" in w.status.currentMessage()
        assert not w.problems.is_open()
        shot(w, "main_window_read_only.png")
        w.close()
        assert _files(folder) == before  # nothing written: not the position, not the last video
    finally:
        os.chmod(folder, 0o755)
        os.chmod(folder / "project.db", 0o644)
