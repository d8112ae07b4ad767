"""File ▸ Export…: what `avs-studio export` offers (format, status, split, sources, frame images,
re-split with its seed) and a folder chooser, in one dialog; the export runs as a job with progress.

An output folder holding an earlier export is replaced only after asking (the CLI's --force); a folder
that is, holds or lies inside the project or its media is refused with the reason
(``jobs.exporting.export_dataset``, ``io.writers.export_folder``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from avs_studio.io.errors import OutputExistsError
from avs_studio.io.writers import FORMATS, parse_ratios
from avs_studio.jobs.exporting import STATUS_CHOICES, export_dataset
from avs_studio.store.annotations import SOURCES

if TYPE_CHECKING:
    from avs_studio.gui.main_window import MainWindow

ALL_SPLITS = "all splits"
FRAME_FORMATS = (
    "coco",
    "png",
)  # formats whose frame images are optional (AVSBench layouts always write them)


class ExportDialog(QDialog):
    def __init__(self, splits: list[str], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Export annotations")
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("a new or empty folder (outside the project)")
        choose = QPushButton("Choose…")
        choose.clicked.connect(self._choose)
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(choose)
        self.format = QComboBox()
        self.format.addItems(list(FORMATS))
        self.format.setCurrentText("coco")
        self.status = QComboBox()
        self.status.addItems(list(STATUS_CHOICES))
        self.status.setToolTip("'any' = proposed, edited and accepted masks (never rejected ones)")
        self.split = QComboBox()
        self.split.addItems([ALL_SPLITS, *splits])
        self.sources = {s: QCheckBox(s) for s in SOURCES}
        sources = QHBoxLayout()
        for box in self.sources.values():
            box.setChecked(True)
            sources.addWidget(box)
        self.frames = QCheckBox("Write the frame images the annotations refer to")
        self.frames.setChecked(True)
        self.resplit = QLineEdit()
        self.resplit.setPlaceholderText("keep the project's splits, or e.g. 0.8,0.1,0.1")
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #c03030")
        self.error.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Folder", where)
        form.addRow("Format", self.format)
        form.addRow("Masks with status", self.status)
        form.addRow("Split", self.split)
        form.addRow("Sources", sources)
        form.addRow("Frames", self.frames)
        form.addRow("Re-split (train,val,test)", self.resplit)
        form.addRow("Re-split seed", self.seed)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.format.currentTextChanged.connect(self._format_changed)
        for edit in (self.folder, self.resplit):
            edit.textChanged.connect(lambda _t: self.error.setText(""))
        self._format_changed(self.format.currentText())

    def _format_changed(self, fmt: str) -> None:
        self.frames.setEnabled(fmt in FRAME_FORMATS)
        if fmt not in FRAME_FORMATS:
            self.frames.setChecked(True)  # AVSBench layouts always hold their frames

    def _choose(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export into (a new or empty folder)")
        if folder:
            self.folder.setText(folder)

    def values(self) -> dict[str, Any]:
        """The export's arguments (``export_dataset``'s keywords and ``out``); ValueError naming a bad one."""
        out = self.folder.text().strip()
        if not out:
            raise ValueError("Choose the folder to export into")
        chosen = [s for s, box in self.sources.items() if box.isChecked()]
        if not chosen:
            raise ValueError("Tick at least one source")
        text = self.resplit.text().strip()
        split = self.split.currentText()
        return {
            "out": out,
            "fmt": self.format.currentText(),
            "status": self.status.currentText(),
            "split": None if split == ALL_SPLITS else split,
            "source": None if len(chosen) == len(SOURCES) else chosen,
            "write_frames": self.frames.isChecked(),
            "resplit_ratios": parse_ratios(text) if text else None,
            "seed": self.seed.value(),
        }

    def _accept(self) -> None:
        try:
            self.values()
        except ValueError as exc:
            self.error.setText(str(exc).replace("--resplit", "Re-split"))
            return
        self.accept()


def export_dialog(window: MainWindow) -> ExportDialog | None:
    """File ▸ Export…: the dialog (non-modal); on Export the job starts on the io thread."""
    if window.project is None:
        return None
    splits = sorted({v.split for v in window.project.store.videos() if v.split})
    dialog = ExportDialog(splits, window)
    dialog.accepted.connect(lambda: start_export(window, **dialog.values()))
    dialog.setModal(True)
    dialog.show()
    window.export_window = dialog
    return dialog


def start_export(window: MainWindow, out: str, fmt: str, *, force: bool = False, **options: Any) -> int:
    """Run the export as a job with progress; a folder holding an earlier export is replaced after asking."""
    project = window.project

    def job(progress: Any, cancel: Any, _on_clip: Any) -> Any:
        try:
            return export_dataset(project, out, fmt, force=force, progress=progress, cancel=cancel, **options)
        except OutputExistsError as exc:
            if force or "--force" not in str(exc) or "only replaces" in str(exc):
                raise  # not ours to replace (the project, its media, another folder): the job fails, saying why
            return exc  # a non-empty folder: ask before replacing it

    def done(result: Any) -> None:
        if isinstance(result, OutputExistsError):
            question = f"{out} is not empty.\nReplace it? Only an earlier export of AVS Studio is replaced."
            if window.ask and QMessageBox.question(window, "Replace the export?", question) == (
                QMessageBox.StandardButton.Yes
            ):
                start_export(window, out, fmt, force=True, **options)
            else:
                window.show_error("Nothing was exported", str(result).replace("pass --force", "confirm"))
            return
        window.status.showMessage(result.summary(), 10000)
        window.last_export = result

    return window.io.start_job(
        f"Export {fmt} ({options.get('status', 'accepted')}) to {out}", job, on_done=done
    )
