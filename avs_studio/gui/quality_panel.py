"""Review ▸ Proposal quality…: each engine's proposals scored against what people accepted
(``jobs.quality.proposal_quality``, the same figures as `avs-studio quality`), computed off the GUI
thread by ``EngineController.quality`` and refreshed on demand."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from avs_studio.jobs.quality import QualityReport
from avs_studio.session import EngineController

COLUMNS = ("engine", "frames", "mIoU", "F", "accepted unchanged")
TIPS = (
    "the engine that proposed (as the proposal run recorded it)",
    "keyframes people accepted whose proposal came from this engine",
    "mean IoU of the proposal against the accepted masks (AVSBench per-frame rule, as `eval`)",
    "mean F-score (β² = 0.3) of the proposal against the accepted masks",
    "share of those keyframes accepted exactly as proposed (nothing edited, deleted or added)",
)
EMPTY = (
    "No reviewed proposals yet: quality is measured on keyframes whose proposals people have accepted "
    "(as proposed or after an edit). Propose (Ctrl+R), review (A, Shift+A), then refresh."
)


def cells(report: QualityReport) -> list[tuple[str, ...]]:
    """The table's text, one row per engine."""
    return [
        (e.engine, str(e.frames), f"{e.miou:.3f}", f"{e.fscore:.3f}", f"{e.accepted_unchanged:.0%}")
        for e in report.engines
    ]


class QualityDialog(QDialog):
    def __init__(self, engines: EngineController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Proposal quality")
        self.setObjectName("quality_dialog")
        self.engines = engines
        self.report: QualityReport | None = None
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        for col, tip in enumerate(TIPS):
            header_item = self.table.horizontalHeaderItem(col)
            if header_item is not None:
                header_item.setToolTip(tip)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setMinimumHeight(40)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.refresh_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        intro = QLabel(
            "How close each engine's proposals came to what people accepted, on this project's own "
            "review. The proposal is the mask the engine stored, not the edited one."
        )
        intro.setWordWrap(True)
        intro.setAlignment(Qt.AlignmentFlag.AlignTop)
        layout.addWidget(intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addStretch(0)  # takes the room when the table is hidden (nothing to show yet)
        layout.addLayout(buttons)
        self.resize(640, 300)

    def refresh(self) -> None:
        """Compute the report again (off the GUI thread); the table shows it when it arrives."""
        self.refresh_button.setEnabled(False)
        self.message.setText("Computing from the review log…")
        if self.engines.quality(self.show_report, self._failed) is None:
            self.refresh_button.setEnabled(True)
            self.message.setText("Open a project first.")

    def _failed(self, message: str) -> None:
        self.refresh_button.setEnabled(True)
        self.message.setText(f"Could not compute the quality: {message}")

    def show_report(self, report: QualityReport) -> None:
        self.report = report
        rows = cells(report)
        self.table.setRowCount(len(rows))
        for r, values in enumerate(rows):
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(r, c, item)
        self.refresh_button.setEnabled(True)
        self.table.setVisible(bool(rows))
        if rows:
            frames = sum(e.frames for e in report.engines)
            self.message.setText(f"{frames} accepted keyframe(s) with a stored proposal.")
        else:
            self.message.setText(EMPTY)

    def cell(self, row: int, column: int) -> str:
        item = self.table.item(row, column)
        return item.text() if item is not None else ""
