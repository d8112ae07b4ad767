"""File ▸ Import AVSBench…: ask where and what, then run the job on the io thread (Export…: gui.export_dialog)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

if TYPE_CHECKING:
    from avs_studio.gui.main_window import MainWindow


def start_import(window: MainWindow, root: str, subset: str) -> int:
    from avs_studio.jobs.importing import import_avsbench

    project = window.project

    def job(progress: Any, cancel: Any, _on_clip: Any) -> Any:
        return import_avsbench(project, root, subset, progress=progress, cancel=cancel)

    def done(report: Any) -> None:
        window.project_panel.refresh()
        window.status.showMessage(report.summary(), 10000)
        if report.problems and window.ask:
            details = "\n".join(f"{p}" for p in report.problems[:50])
            QMessageBox.information(
                window, "Import finished with problems", f"{report.summary()}\n\n{details}"
            )

    return window.io.start_job(f"Import AVSBench {subset.upper()} from {root}", job, on_done=done)


def import_dataset_dialog(window: MainWindow) -> None:
    from avs_studio.io.avsbench import SUBSETS

    if window.project is None:
        return
    root = QFileDialog.getExistingDirectory(window, "AVSBench folder to import")
    if not root:
        return
    subset, ok = QInputDialog.getItem(window, "Import AVSBench", "Subset:", list(SUBSETS), 0, False)
    if ok:
        start_import(window, root, subset)
