"""File ▸ Export…: the CLI's options in one dialog with a folder chooser, run as a job; a COCO export
holds the frames it references; a non-empty folder is replaced only after asking; the project is refused."""

from __future__ import annotations

import json

import numpy as np
from PySide6.QtWidgets import QFileDialog, QMessageBox

from avs_studio.io.writers import FORMATS
from avs_studio.jobs.exporting import STATUS_CHOICES
from tests.gui.conftest import FPS
from tests.gui.test_proposals import shot


def _open(w):
    action = next(a for a in w.menus["File"].actions() if a.objectName() == "export_dataset")
    action.trigger()
    return w.export_window


def _run(qtbot, w, dialog) -> None:
    jobs = set(w.jobs_panel.states)
    dialog.export_button.click()
    qtbot.waitUntil(lambda: bool(set(w.jobs_panel.states) - jobs), timeout=5000)
    (job,) = set(w.jobs_panel.states) - jobs
    qtbot.waitUntil(lambda: w.jobs_panel.states[job] in ("done", "failed"), timeout=60000)
    qtbot.waitUntil(w.io.idle, timeout=10000)


def test_export_dialog_writes_coco_with_its_frames(qtbot, main_window, tmp_path, monkeypatch):
    w = main_window
    store, vid = w.project.store, w.video.id
    oid = store.add_object(vid, "square")
    m = np.zeros((120, 160), bool)
    m[10:30, 20:50] = True
    for k in (0, FPS):
        store.put_annotation(vid, k, oid, m, source="manual", status="accepted")
    out = tmp_path / "export"
    out.mkdir()
    dialog = _open(w)
    assert [dialog.format.itemText(i) for i in range(dialog.format.count())] == list(FORMATS)
    assert [dialog.status.itemText(i) for i in range(dialog.status.count())] == list(STATUS_CHOICES)
    assert "train" in [dialog.split.itemText(i) for i in range(dialog.split.count())]
    assert set(dialog.sources) >= {"manual", "proposal"} and dialog.frames.isChecked()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    next(b for b in dialog.findChildren(type(dialog.export_button)) if b.text() == "Choose…").click()
    assert dialog.folder.text() == str(out)
    dialog.resplit.setText("0.8,0.1")  # a bad re-split is said in the dialog, nothing runs
    dialog.export_button.click()
    assert dialog.isVisible() and "Re-split wants three" in dialog.error.text()
    dialog.resplit.setText("")
    dialog.split.setCurrentText("train")
    shot(dialog, "export_dialog.png")
    _run(qtbot, w, dialog)
    coco = json.loads((out / "annotations.json").read_text())
    assert len(coco["annotations"]) == 2 and coco["images"]
    for image in coco["images"]:  # every frame it references is there
        assert (out / "images" / image["file_name"]).is_file(), image["file_name"]  # COCO: under images/
    assert "exported" in w.status.currentMessage().lower() or w.last_export.out == out

    # again into the same (now non-empty) folder: not replaced without a yes
    dialog = _open(w)
    dialog.folder.setText(str(out))
    dialog.format.setCurrentText("png")
    _run(qtbot, w, dialog)
    assert "Nothing was exported" in w.last_error and (out / "annotations.json").is_file()
    # with a yes it replaces the earlier export (the CLI's --force)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    w.ask = True
    dialog = _open(w)
    dialog.folder.setText(str(out))
    dialog.format.setCurrentText("png")
    _run(qtbot, w, dialog)
    qtbot.waitUntil(
        lambda: not (out / "annotations.json").exists() and any(out.rglob("*.png")), timeout=60000
    )
    w.ask = False


def test_export_into_the_project_is_refused_clearly(qtbot, main_window):
    w = main_window
    dialog = _open(w)
    dialog.folder.setText(str(w.project.dir))
    _run(qtbot, w, dialog)
    assert "refused to export to" in w.last_error and str(w.project.dir) in w.last_error
    assert (w.project.dir / "project.db").is_file()
