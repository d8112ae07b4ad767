"""ModelDownloadDialog: what the pipeline still needs (size, licence), downloaded with progress and cancel,
or, where a download cannot work (offline), brought in by hand: the dialog says how and imports a folder or
file (``avs_studio.openavs.model_import``, hashes checked). No Download button is offered offline, and files
without a registered sha256 are only downloaded once the user ticks the box that allows them.

Usage::

    names = missing_models(["grounding-dino-tiny", "sam2.1-hiera-large"])
    if names:
        dlg = ModelDownloadDialog(names, parent=window)
        dlg.allDone.connect(lambda ok: ok and window.run_pipeline())
        dlg.show()            # or dlg.exec(); the user presses Download (or call dlg.start())

Public API
    missing_models(names) -> list[str]                 registry names whose files are not all cached
    ModelDownloadDialog(models: list[str | ModelSpec], parent=None, *, autostart=False)
        signals  modelDone(str name, str path), modelFailed(str name, str message), allDone(bool all_cached)
        start()          download the models one after another on a worker thread
        import_path(path)  copy a downloaded folder or file into the cache on the worker thread
        cancel()         stop after the current chunk (partial .part files are kept and resume next time)
        is_running() -> bool
        paths: dict[str, Path]      models now cached (name -> what ensure() returned)
        errors: dict[str, str]      name -> message (offline: the ModelMissingError text with the command)
        table (QTableWidget: model, size, licence, files, progress), bars (per-model QProgressBar),
        total_bar (QProgressBar), message (QLabel: state), error_box (QPlainTextEdit: error messages)

Downloads go through ``avs_studio.openavs.weights.ensure(name, progress, cancel)``: same cache folder
(AVS_STUDIO_CACHE), same checksum checks and resume as ``avs-studio models download NAME``.
The worker is a plain thread; it reports through Qt signals (queued to the GUI thread), so the dialog never
blocks. Closing the dialog while downloading cancels.
"""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QCloseEvent, QTextOption
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from avs_studio.openavs import model_import, weights
from avs_studio.openavs.downloads import unreachable
from avs_studio.openavs.weights import DownloadCancelled, ModelError, ModelSpec

COLUMNS = ("model", "size", "licence", "files", "progress")
PROGRESS_COL = 4


def missing_models(names: list[str]) -> list[str]:
    """The names among ``names`` whose weights are not completely in the cache (unknown names raise)."""
    return [n for n in names if not weights.is_cached(n)]


def _human(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000.0
    return f"{n:.1f} GB"


def _expected_bytes(spec: ModelSpec, missing: list[str]) -> int | None:
    sizes = [f.size for f in spec.files if f.path in missing]
    if sizes and all(s is not None for s in sizes):
        return int(sum(sizes))  # type: ignore[arg-type]
    return int(spec.size_mb * 1e6) if spec.size_mb else None


class _Bridge(QObject):
    progress = Signal(int, object, object)  # row, bytes done, bytes total (Python ints: may pass 2**31)
    done = Signal(int, str)  # row, local path
    failed = Signal(int, str)  # row, message
    cancelled = Signal(int)
    imported = Signal(str)  # summary
    finished = Signal()


class ModelDownloadDialog(QDialog):
    modelDone = Signal(str, str)
    modelFailed = Signal(str, str)
    allDone = Signal(bool)

    def __init__(
        self, models: list[str | ModelSpec], parent: QWidget | None = None, *, autostart: bool = False
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Download models")
        self.specs = [weights.get_spec(m) for m in models]
        self.paths: dict[str, Path] = {}
        self.errors: dict[str, str] = {}
        self._missing = [weights.missing_files(s) for s in self.specs]
        self._expected = [_expected_bytes(s, m) for s, m in zip(self.specs, self._missing)]
        self._done = [0] * len(self.specs)
        self._total: list[int | None] = list(self._expected)
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._bridge = _Bridge()
        self._bridge.progress.connect(self._on_progress)
        self._bridge.done.connect(self._on_done)
        self._bridge.failed.connect(self._on_failed)
        self._bridge.cancelled.connect(self._on_cancelled)
        self._bridge.finished.connect(self._on_finished)
        self._imported = ""  # the last import's summary, shown when the worker finishes
        self._bridge.imported.connect(lambda text: setattr(self, "_imported", text))

        # a download that cannot work is never offered: offline by setting, or no host answers
        self.offline_reason = weights.offline_reason() if weights.offline() else unreachable(self.specs)
        self.offline = bool(self.offline_reason)
        self._unverified = sorted(
            {f for s, m in zip(self.specs, self._missing) for f in s.unverified_files() if f in m}
        )
        if self.offline:
            text = (
                f"These models are not in the model cache ({weights.cache_dir()}) and cannot be downloaded "
                f"here ({self.offline_reason}):"
            )
        else:
            text = f"These models are needed and not in the model cache yet ({weights.cache_dir()}). Download them now?"
        intro = QLabel(text)
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help = QLabel(
            "To bring them in by hand: on a machine with a network run <code>avs-studio models download NAME</code> "
            "(or download the files from the model pages: hover a name), copy the model folder or file here, then "
            "press Import folder… or Import file… (or run <code>avs-studio models import PATH</code>). "
            "Every file's sha256 is checked before it enters the cache."
        )
        self.help.setWordWrap(True)
        self.help.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.allow_unverified = QCheckBox(
            f"Also download {len(self._unverified)} file(s) the registry has no sha256 for"
        )
        self.allow_unverified.setToolTip(
            "Their hashes are recorded in the cache, but nothing proves they are the published files:\n"
            + "\n".join(self._unverified)
        )
        self.allow_unverified.setVisible(bool(self._unverified) and not self.offline)
        self.allow_unverified.toggled.connect(self._update_buttons)
        self.table = QTableWidget(len(self.specs), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.bars: list[QProgressBar] = []
        for r, spec in enumerate(self.specs):
            size = self._expected[r]
            cells = (
                spec.name,
                _human(size) if size else "unknown",
                spec.license or "see the model card",
                f"{len(self._missing[r])} of {len(spec.files)}" if spec.files else "generated",
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if c == 0:
                    item.setToolTip(f"{spec.description}\nfiles: {spec.page}")
                if c == 3:
                    item.setToolTip("\n".join(self._missing[r]))
                self.table.setItem(r, c, item)
            bar = QProgressBar()
            bar.setRange(0, 1000)
            bar.setValue(1000 if not self._missing[r] else 0)
            bar.setFormat("cached" if not self._missing[r] else "missing" if self.offline else "waiting")
            self.table.setCellWidget(r, PROGRESS_COL, bar)
            self.bars.append(bar)
        self.table.resizeColumnsToContents()
        self.table.setColumnWidth(PROGRESS_COL, 200)
        self.table.horizontalHeader().setStretchLastSection(True)
        total = sum(s for s in self._expected if s)
        self.total_bar = QProgressBar()
        self.total_bar.setRange(0, 1000)
        self.total_bar.setFormat(f"%p% of {_human(total)}" if total else "%p%")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_box = QPlainTextEdit()  # errors name long paths: wrap anywhere, selectable to copy
        self.error_box.setReadOnly(True)
        self.error_box.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.error_box.setWordWrapMode(QTextOption.WrapMode.WrapAtWordBoundaryOrAnywhere)
        self.error_box.setStyleSheet("color: #d03838;")
        self.error_box.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.error_box.setMaximumHeight(110)
        self.error_box.hide()
        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self.start)
        self.download_button.setVisible(not self.offline)  # never offer a download that cannot work
        self.import_dir_button = QPushButton("Import folder…")
        self.import_dir_button.clicked.connect(lambda: self._choose_import(folder=True))
        self.import_file_button = QPushButton("Import file…")
        self.import_file_button.clicked.connect(lambda: self._choose_import(folder=False))
        self.cancel_button = QPushButton("Close")
        self.cancel_button.clicked.connect(self._cancel_or_close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.import_dir_button)
        buttons.addWidget(self.import_file_button)
        buttons.addStretch(1)
        buttons.addWidget(self.download_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.table)
        layout.addWidget(self.help)
        layout.addWidget(self.allow_unverified)
        total_label = QLabel("Total")
        layout.addWidget(total_label)
        layout.addWidget(self.total_bar)
        total_label.setVisible(not self.offline)
        self.total_bar.setVisible(not self.offline)
        layout.addWidget(self.message)
        layout.addWidget(self.error_box)
        layout.addLayout(buttons)
        self.resize(680, 400)
        self._update_buttons()
        if autostart:
            self.start()

    # ------------------------------------------------------------------ control
    def is_running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _update_buttons(self) -> None:
        blocked = bool(self._unverified) and not self.allow_unverified.isChecked()
        running = self.is_running()
        self.download_button.setEnabled(not running and not self.offline and not blocked)
        self.download_button.setToolTip(
            "Tick the box above to download files without a registered sha256" if blocked else ""
        )
        for b in (self.import_dir_button, self.import_file_button):
            b.setEnabled(not running)

    def _choose_import(self, folder: bool) -> None:
        if folder:
            path = QFileDialog.getExistingDirectory(self, "Import a downloaded model folder")
        else:
            path, _ = QFileDialog.getOpenFileName(self, "Import a downloaded model file")
        if path:
            self.import_path(path)

    def import_path(self, path: str | Path) -> None:
        """Copy a downloaded folder or file into the cache (hashes checked) on the worker thread."""
        if self.is_running():
            return
        self.error_box.hide()
        self.message.setText(f"Importing {path}…")
        allow = self.allow_unverified.isChecked()
        self._thread = threading.Thread(target=self._run_import, args=(str(path), allow), daemon=True)
        self._thread.start()
        self._update_buttons()

    def _run_import(self, path: str, allow: bool) -> None:
        bridge = self._bridge
        try:
            report = model_import.import_model(path, allow_unverified=allow)
            row = next((r for r, s in enumerate(self.specs) if s.name == report.model), -1)
            if row >= 0:
                bridge.done.emit(row, str(report.path))
            bridge.imported.emit(report.summary())
        except Exception as exc:  # a named ModelError, or a disk error: shown, the app stays up
            bridge.failed.emit(-1, f"{path}: {exc}")
        finally:
            bridge.finished.emit()

    def start(self) -> None:
        if self.is_running() or self.offline:
            return
        self._cancel.clear()
        self.errors.clear()
        self.message.setText("")
        self.error_box.clear()
        self.error_box.hide()
        self.cancel_button.setText("Cancel")
        todo = [(r, s) for r, s in enumerate(self.specs) if s.name not in self.paths]
        allow = self.allow_unverified.isChecked()
        self._thread = threading.Thread(
            target=self._run, args=(todo, allow), name="model-download", daemon=True
        )
        self._thread.start()
        self._update_buttons()

    def cancel(self) -> None:
        self._cancel.set()

    def _cancel_or_close(self) -> None:
        if self.is_running():
            self.cancel()
            self.cancel_button.setEnabled(False)
            self.message.setText("Cancelling…")
        else:
            self.reject()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the worker thread (tests, shutdown); True when it has finished."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.is_running()

    # ------------------------------------------------------------------ worker thread
    def _run(self, todo: list[tuple[int, ModelSpec]], allow_unverified: bool) -> None:
        bridge, cancel = self._bridge, self._cancel
        try:
            for row, spec in todo:
                if cancel.is_set():
                    bridge.cancelled.emit(row)
                    break

                def progress(done: int, total: int, _file: str, row: int = row) -> None:
                    bridge.progress.emit(row, int(done), int(total))

                try:
                    path = weights.ensure(
                        spec, progress=progress, cancel=cancel, allow_unverified=allow_unverified
                    )
                except DownloadCancelled:
                    bridge.cancelled.emit(row)
                    break
                except ModelError as exc:
                    bridge.failed.emit(row, str(exc))
                    continue
                except Exception as exc:  # unexpected (disk full, permissions): show it, keep the app up
                    bridge.failed.emit(row, f"model {spec.name!r}: {type(exc).__name__}: {exc}")
                    continue
                bridge.done.emit(row, str(path))
        finally:
            bridge.finished.emit()

    # ------------------------------------------------------------------ GUI thread slots
    def _on_progress(self, row: int, done: int, total: int) -> None:
        self._done[row] = done
        self._total[row] = max(total, done) if total else self._total[row]
        bar = self.bars[row]
        t = self._total[row]
        bar.setValue(int(1000 * done / t) if t else 0)
        bar.setFormat(f"{_human(done)} / {_human(t)}" if t else _human(done))
        self._update_total()

    def _update_total(self) -> None:
        totals = [t or 0 for t in self._total]
        whole = sum(totals)
        self.total_bar.setValue(int(1000 * sum(self._done) / whole) if whole else 0)

    def _on_done(self, row: int, path: str) -> None:
        spec = self.specs[row]
        self.paths[spec.name] = Path(path)
        self._done[row] = self._total[row] or self._done[row]
        bar = self.bars[row]
        bar.setValue(1000)
        bar.setFormat("done")
        self._update_total()
        self.modelDone.emit(spec.name, path)

    def _on_failed(self, row: int, message: str) -> None:
        name = self.specs[row].name if row >= 0 else "import"
        self.errors[name] = message
        if row >= 0:
            self.bars[row].setFormat("failed")
            self.bars[row].setToolTip(message)
        self.modelFailed.emit(name, message)

    def _on_cancelled(self, row: int) -> None:
        self.bars[row].setFormat("cancelled (resumes next time)")

    def _on_finished(self) -> None:
        self._thread = None
        self._update_buttons()
        self.cancel_button.setEnabled(True)
        self.cancel_button.setText("Close")
        all_cached = all(s.name in self.paths or not self._missing[r] for r, s in enumerate(self.specs))
        if self.errors:
            self.download_button.setText("Retry")
            ok = sum(1 for s in self.specs if s.name in self.paths)
            self.message.setText(
                f"{len(self.errors)} model(s) failed, {ok} of {len(self.specs)} in the cache:"
            )
            self.error_box.setPlainText("\n\n".join(self.errors.values()))
            self.error_box.show()
        elif self._cancel.is_set() and not all_cached:
            self.download_button.setText("Resume")
            self.message.setText(
                "Download cancelled. Partial files are kept; Resume continues where it stopped."
            )
        elif all_cached:
            self.message.setText(f"All {len(self.specs)} model(s) are in the cache.")
        else:
            left = [s.name for r, s in enumerate(self.specs) if s.name not in self.paths and self._missing[r]]
            self.message.setText(f"{self._imported} Still missing: {', '.join(left)}.".strip())
        self._imported = ""
        self.allDone.emit(all_cached)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel()
        super().closeEvent(event)

    def reject(self) -> None:
        self.cancel()
        super().reject()
