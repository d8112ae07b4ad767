"""Project panel: the videos with per-status counts and review progress, filtered by split and status."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from avs_studio.gui.review import NEEDS_REVIEW, STATE_COLOURS, keyframe_states, progress
from avs_studio.jobs import Project, keyframes
from avs_studio.store import VideoRow

STATUS_FILTERS = ("all", "needs review", "not processed", "done")
COLUMNS = ("video", "split", "done", "prop.", "edit.", "acc.", "rej.")
COLUMN_TIPS = (
    "video name (path in the tooltip)",
    "dataset split",
    "keyframes accepted or rejected",
    "masks proposed, not reviewed",
    "masks edited by a person, not accepted",
    "masks accepted",
    "masks rejected",
)


@dataclass
class VideoSummary:
    video: VideoRow
    keyframes: list[int]
    states: list[str]  # per keyframe
    counts: dict[str, int]  # per annotation status

    @property
    def progress(self) -> float:
        return progress(self.states)

    def matches(self, status: str) -> bool:
        if status == "needs review":
            return any(s in NEEDS_REVIEW for s in self.states)
        if status == "not processed":
            return any(s == "unprocessed" for s in self.states)
        if status == "done":
            return bool(self.states) and all(s not in NEEDS_REVIEW for s in self.states)
        return True


def summarise(project: Project, video: VideoRow) -> VideoSummary:
    store = project.store
    kf = keyframes(video)
    rows = store.annotations(video_id=video.id)
    return VideoSummary(video, kf, keyframe_states(kf, rows), store.counts(video.id)["status"])


class ProjectPanel(QWidget):
    video_selected = Signal(int)  # video id

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.project: Project | None = None
        self.summaries: dict[int, VideoSummary] = {}
        self.split_box = QComboBox()
        self.split_box.setToolTip("Show only videos of this split")
        self.status_box = QComboBox()
        self.status_box.addItems(STATUS_FILTERS)
        self.status_box.setToolTip("Show only videos in this review state")
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        for col, tip in enumerate(COLUMN_TIPS):
            self.tree.headerItem().setToolTip(col, tip)
        self.tree.setRootIsDecorated(False)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setAlternatingRowColors(True)
        self.summary_label = QLabel()
        filters = QHBoxLayout()
        filters.addWidget(QLabel("split"))
        filters.addWidget(self.split_box, 1)
        filters.addWidget(QLabel("status"))
        filters.addWidget(self.status_box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(filters)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.summary_label)
        self.split_box.currentIndexChanged.connect(self._fill)
        self.status_box.currentIndexChanged.connect(self._fill)
        self.tree.currentItemChanged.connect(self._on_current)

    def set_project(self, project: Project | None) -> None:
        self.project = project
        self.refresh()

    def refresh(self) -> None:
        """Re-read every video's counts and states from the store."""
        self.summaries = {}
        if self.project is not None:
            for v in self.project.store.videos():
                self.summaries[v.id] = summarise(self.project, v)
        splits = sorted({s.video.split for s in self.summaries.values() if s.video.split})
        current = self.split_box.currentText()
        self.split_box.blockSignals(True)
        self.split_box.clear()
        self.split_box.addItems(["all", *splits])
        self.split_box.setCurrentText(current if current in splits else "all")
        self.split_box.blockSignals(False)
        self._fill()

    def refresh_video(self, video_id: int) -> None:
        if self.project is None:
            return
        self.summaries[video_id] = summarise(self.project, self.project.store.video(video_id))
        item = self._item(video_id)
        if item is not None:
            self._set_item(item, self.summaries[video_id])

    def _item(self, video_id: int) -> QTreeWidgetItem | None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole) == video_id:
                return item
        return None

    def _fill(self) -> None:
        selected = self.current_video_id()
        split, status = self.split_box.currentText(), self.status_box.currentText()
        self.tree.blockSignals(True)
        self.tree.clear()
        shown = 0
        for summary in self.summaries.values():
            if split not in ("", "all") and summary.video.split != split:
                continue
            if not summary.matches(status):
                continue
            item = QTreeWidgetItem()
            self._set_item(item, summary)
            self.tree.addTopLevelItem(item)
            shown += 1
            if summary.video.id == selected:
                self.tree.setCurrentItem(item)
        self.tree.blockSignals(False)
        for c in range(len(COLUMNS)):
            self.tree.resizeColumnToContents(c)
        total = len(self.summaries)
        self.summary_label.setText(f"{shown} of {total} videos shown")

    def _set_item(self, item: QTreeWidgetItem, s: VideoSummary) -> None:
        item.setData(0, Qt.ItemDataRole.UserRole, s.video.id)
        item.setText(0, s.video.name)
        item.setToolTip(0, s.video.path)
        item.setText(1, s.video.split or "")
        reviewed = sum(st in ("accepted", "rejected") for st in s.states)
        item.setText(2, f"{round(100 * s.progress)}%")
        item.setToolTip(2, f"{reviewed} of {len(s.keyframes)} keyframes accepted or rejected")
        for col, status in enumerate(("proposed", "edited", "accepted", "rejected"), start=3):
            n = s.counts.get(status, 0)
            item.setText(col, str(n))
            item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if n:
                item.setForeground(col, QBrush(QColor(STATE_COLOURS[status])))

    def _on_current(self, item: QTreeWidgetItem | None, _prev: QTreeWidgetItem | None) -> None:
        if item is not None:
            self.video_selected.emit(int(item.data(0, Qt.ItemDataRole.UserRole)))

    def current_video_id(self) -> int | None:
        item = self.tree.currentItem()
        return None if item is None else int(item.data(0, Qt.ItemDataRole.UserRole))

    def select_video(self, video_id: int) -> None:
        item = self._item(video_id)
        if item is not None and item is not self.tree.currentItem():
            self.tree.setCurrentItem(item)

    def selected_video_ids(self) -> list[int]:
        ids = [int(i.data(0, Qt.ItemDataRole.UserRole)) for i in self.tree.selectedItems()]
        current = self.current_video_id()
        return ids or ([current] if current is not None else [])
