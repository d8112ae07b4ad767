"""Jobs dock content: running and queued jobs with progress and a cancel button each."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("job", "state", "progress", "")


class JobsPanel(QWidget):
    cancel_requested = Signal(int)  # job id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(False)
        self.table.setColumnWidth(0, 260)
        self.table.setColumnWidth(2, 260)
        self.clear_button = QPushButton("Clear finished")
        self.clear_button.clicked.connect(self.clear_finished)
        bottom = QHBoxLayout()
        bottom.addStretch(1)
        bottom.addWidget(self.clear_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)
        self.states: dict[int, str] = {}

    def _row(self, job_id: int) -> int:
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item is not None and item.data(256) == job_id:
                return r
        return -1

    def add_job(self, job_id: int, title: str) -> None:
        r = self.table.rowCount()
        self.table.insertRow(r)
        item = QTableWidgetItem(title)
        item.setData(256, job_id)
        item.setToolTip(title)
        self.table.setItem(r, 0, item)
        self.table.setItem(r, 1, QTableWidgetItem("queued"))
        bar = QProgressBar()
        bar.setRange(0, 0)  # busy until the first progress report
        bar.setFormat("%v / %m")
        self.table.setCellWidget(r, 2, bar)
        button = QPushButton("Cancel")
        button.setToolTip("Stop this job; a clip being processed is not written")
        button.clicked.connect(lambda: self.cancel_requested.emit(job_id))
        self.table.setCellWidget(r, 3, button)
        self.states[job_id] = "queued"

    def update_job(self, job_id: int, done: int, total: int, message: str) -> None:
        r = self._row(job_id)
        if r < 0:
            return
        self.states[job_id] = "running"
        self.table.item(r, 1).setText("running")
        self.table.item(r, 1).setToolTip(message)
        bar = self.table.cellWidget(r, 2)
        if isinstance(bar, QProgressBar) and total > 0:
            bar.setRange(0, total)
            bar.setValue(min(done, total))
            bar.setToolTip(message)

    def finish_job(self, job_id: int, state: str, message: str) -> None:
        r = self._row(job_id)
        if r < 0:
            return
        self.states[job_id] = state
        item = self.table.item(r, 1)
        item.setText(state)
        item.setToolTip(message)
        bar = self.table.cellWidget(r, 2)
        if isinstance(bar, QProgressBar):
            if bar.maximum() == 0:
                bar.setRange(0, 1)
            if state == "done":
                bar.setValue(bar.maximum())
            if message:
                bar.setFormat(message[:80])
                bar.setToolTip(message)
        button = self.table.cellWidget(r, 3)
        if button is not None:
            button.setEnabled(False)

    def clear_finished(self) -> None:
        for r in reversed(range(self.table.rowCount())):
            job_id = self.table.item(r, 0).data(256)
            if self.states.get(job_id) not in ("queued", "running"):
                self.table.removeRow(r)
                self.states.pop(job_id, None)

    def running(self) -> list[int]:
        return [j for j, s in self.states.items() if s in ("queued", "running")]
