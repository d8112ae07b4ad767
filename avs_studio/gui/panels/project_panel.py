"""Project panel: the videos with per-status counts, review progress and assignee, filtered by split and
status, in the order of this person's queue (``jobs.assign.queue_rank``: their unfinished videos, then
unassigned ones, their finished ones, then those of others)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from PySide6.QtCore import (
    QAbstractTableModel,
    QItemSelectionModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from avs_studio.jobs import Project, keyframes
from avs_studio.jobs.assign import queue_rank
from avs_studio.jobs.review import NEEDS_REVIEW, REVIEWED, STATES, keyframe_states, review_progress
from avs_studio.session.display import STATUS_COLOURS
from avs_studio.store import VideoRow

COUNT_COLUMNS = {3: "proposed", 4: "edited", 5: "accepted", 6: "rejected"}
STATUS_FILTERS = ("all", "needs review", "not processed", "done")
COLUMNS = ("video", "split", "done", "prop.", "edit.", "acc.", "rej.", "assignee")
ASSIGNEE = 7  # shown second (header.moveSection), kept last so the other indices stay
COLUMN_TIPS = (
    "video name (path in the tooltip)",
    "dataset split",
    "keyframes accepted or rejected",
    "masks proposed, not reviewed",
    "masks edited by a person, not accepted",
    "masks accepted",
    "masks rejected",
    "the annotator this video is assigned to (`avs-studio assign`); yours come first",
)


@dataclass
class VideoSummary:
    video: VideoRow
    keyframes: list[int]
    states: list[str]  # per keyframe
    counts: dict[str, int]  # per annotation status
    annotator: str | None = None  # assigned to (None: nobody)

    @property
    def progress(self) -> float:
        return review_progress(self.states)

    def matches(self, status: str) -> bool:
        if status == "needs review":
            return any(s in NEEDS_REVIEW for s in self.states)
        if status == "not processed":
            return any(s == "unprocessed" for s in self.states)
        if status == "done":
            return self.done
        return True

    @property
    def done(self) -> bool:
        return bool(self.states) and all(s not in NEEDS_REVIEW for s in self.states)


class _Mark(NamedTuple):  # what a summary needs of an annotation (not its mask)
    frame: int
    status: str


def summarise(
    video: VideoRow, kf: list[int], marks: list[_Mark], annotator: str | None = None
) -> VideoSummary:
    counts = Counter(m.status for m in marks)
    states = keyframe_states(kf, marks)
    return VideoSummary(video, kf, states, {s: counts.get(s, 0) for s in STATES}, annotator)


def summarise_project(
    project: Project, keyframes_of: Callable[[VideoRow], list[int]], video_ids: list[int] | None = None
) -> dict[int, VideoSummary]:
    """Every video's summary from one streaming pass over the annotations (safe off the GUI thread)."""
    store = project.store
    videos = store.videos() if video_ids is None else [store.video(i) for i in video_ids]
    marks: dict[int, list[_Mark]] = defaultdict(list)
    rows: Any = store.iter_annotations(batch=5000) if video_ids is None else (
        r for i in video_ids for r in store.iter_annotations(video_id=i, batch=5000)
    )  # fmt: skip
    for r in rows:
        marks[r.video_id].append(_Mark(r.frame, r.status))
    owners = {a.video_id: a.annotator for a in store.assignments.rows()}
    return {v.id: summarise(v, keyframes_of(v), marks.get(v.id, []), owners.get(v.id)) for v in videos}


class VideoTableModel(QAbstractTableModel):
    """One row per shown video (model/view: thousands of videos cost no widgets)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.rows: list[VideoSummary] = []
        self._row_of: dict[int, int] = {}
        self.me = ""  # the person at the keyboard (the store's author): their videos are marked

    def set_rows(self, rows: list[VideoSummary]) -> None:
        self.beginResetModel()
        self.rows = rows
        self._row_of = {s.video.id: i for i, s in enumerate(rows)}
        self.endResetModel()

    def update(self, summary: VideoSummary) -> bool:
        """Replace a shown video's row in place; False when it is not shown."""
        row = self._row_of.get(summary.video.id)
        if row is None:
            return False
        self.rows[row] = summary
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        return True

    def row_of(self, video_id: int) -> int | None:
        return self._row_of.get(video_id)

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal:
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section]
            if role == Qt.ItemDataRole.ToolTipRole:
                return COLUMN_TIPS[section]
        return None

    def data(
        self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if not index.isValid():
            return None
        s, col = self.rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self.text(s, col, self.me)
        if role == Qt.ItemDataRole.UserRole:
            return s.video.id
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0:
                return s.video.path
            if col == 2:
                reviewed = sum(st in REVIEWED for st in s.states)
                return f"{reviewed} of {len(s.keyframes)} keyframes accepted or rejected"
            if col == ASSIGNEE and s.annotator is not None:
                mine = s.annotator == self.me
                return "assigned to you" if mine else f"assigned to {s.annotator}: editing asks first"
        if role == Qt.ItemDataRole.FontRole and col in (0, ASSIGNEE) and s.annotator == self.me:
            font = QFont()
            font.setBold(True)
            return font
        if role == Qt.ItemDataRole.ForegroundRole and s.annotator not in (None, self.me):
            return QBrush(QColor("#8a8a8a"))  # someone else's video
        if role == Qt.ItemDataRole.ForegroundRole and col in COUNT_COLUMNS:
            if s.counts.get(COUNT_COLUMNS[col], 0):
                return QBrush(QColor(STATUS_COLOURS[COUNT_COLUMNS[col]]))
        if role == Qt.ItemDataRole.TextAlignmentRole and 2 <= col < ASSIGNEE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def text(s: VideoSummary, col: int, me: str = "") -> str:
        if col == 0:
            return s.video.name
        if col == 1:
            return s.video.split or ""
        if col == 2:
            return f"{round(100 * s.progress)}%"
        if col == ASSIGNEE:
            return "" if s.annotator is None else s.annotator + (" (you)" if s.annotator == me else "")
        return str(s.counts.get(COUNT_COLUMNS[col], 0))


class ProjectPanel(QWidget):
    """Videos of the project. ``runner`` (a TaskRunner): where summaries are computed, so a project of
    thousands of videos never freezes the window; without one they are computed in place."""

    video_selected = Signal(int)  # video id
    refreshed = Signal()  # the list shows fresh counts

    def __init__(self, parent: QWidget | None = None, runner: Any = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.project: Project | None = None
        self.summaries: dict[int, VideoSummary] = {}
        self._keyframes: dict[int, list[int]] = {}  # per video (a VFR video's come from scanning the file)
        self._wanted: int | None = None  # the video the window shows (selected when its row appears)
        self.split_box = QComboBox()
        self.split_box.setToolTip("Show only videos of this split")
        self.status_box = QComboBox()
        self.status_box.addItems(STATUS_FILTERS)
        self.status_box.setToolTip("Show only videos in this review state")
        self.model = VideoTableModel(self)
        self.view = QTreeView()
        self.view.setModel(self.model)
        self.view.setRootIsDecorated(False)
        self.view.setUniformRowHeights(True)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.header().setResizeContentsPrecision(100)  # size columns from the first rows only
        self.view.header().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.header().moveSection(ASSIGNEE, 1)  # who has it, right after the name
        self.summary_label = QLabel()
        filters = QHBoxLayout()
        filters.addWidget(QLabel("split"))
        filters.addWidget(self.split_box, 1)
        filters.addWidget(QLabel("status"))
        filters.addWidget(self.status_box, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addLayout(filters)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.summary_label)
        self.split_box.currentIndexChanged.connect(self._fill)
        self.status_box.currentIndexChanged.connect(self._fill)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)

    def set_project(self, project: Project | None) -> None:
        self.project = project
        self.model.me = project.store.author if project is not None else ""
        self._keyframes = {}
        self.summaries = {}
        self._wanted = None
        self._fill()
        self.refresh()

    def _keyframes_of(self, video: VideoRow) -> list[int]:
        if video.id not in self._keyframes:
            self._keyframes[video.id] = keyframes(video)
        return self._keyframes[video.id]

    def refresh(self, video_ids: list[int] | None = None) -> None:
        """Re-read counts and states (all videos, or these) from the store; the list updates when done."""
        project = self.project
        if project is None:
            self._show({}, None)
            return

        def compute() -> dict[int, VideoSummary]:
            return summarise_project(project, self._keyframes_of, video_ids)

        if self.runner is None:
            self._show(compute(), video_ids)
        else:
            self.runner.submit(compute, on_done=lambda result: self._show(result, video_ids, project))

    def refresh_video(self, video_id: int) -> None:
        self.refresh([video_id])

    def _show(
        self, summaries: dict[int, VideoSummary], video_ids: list[int] | None, project: Any = None
    ) -> None:
        if project is not None and project is not self.project:
            return  # computed for a project that is no longer shown
        if video_ids is None:
            self.summaries = summaries
        else:
            self.summaries.update(summaries)
            status = self.status_box.currentText()
            if all(s.matches(status) and self.model.update(s) for s in summaries.values()):
                self.refreshed.emit()  # rows updated in place: no rebuild of a long list
                return
        splits = sorted({s.video.split for s in self.summaries.values() if s.video.split})
        current = self.split_box.currentText()
        self.split_box.blockSignals(True)
        self.split_box.clear()
        self.split_box.addItems(["all", *splits])
        self.split_box.setCurrentText(current if current in splits else "all")
        self.split_box.blockSignals(False)
        self._fill()
        self.refreshed.emit()

    def _fill(self) -> None:
        selected = self._wanted if self._wanted is not None else self.current_video_id()
        split, status = self.split_box.currentText(), self.status_box.currentText()
        me = self.model.me
        rows = sorted(
            (
                s
                for s in self.summaries.values()
                if (split in ("", "all") or s.video.split == split) and s.matches(status)
            ),
            key=lambda s: queue_rank(s.annotator, s.done, s.video.id, me),
        )
        sel = self.view.selectionModel()
        sel.blockSignals(True)
        self.model.set_rows(rows)
        row = self.model.row_of(selected) if selected is not None else None
        if row is not None:
            sel.setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )
        sel.blockSignals(False)
        if rows:
            for c in range(len(COLUMNS)):
                self.view.resizeColumnToContents(c)
        assigned = any(s.annotator for s in self.summaries.values())
        self.view.setColumnHidden(ASSIGNEE, not assigned)  # no assignments: no empty column
        mine = sum(1 for s in self.summaries.values() if s.annotator == me and me and not s.done)
        queue = f" · my queue: {mine} to do" if assigned else ""
        self.summary_label.setText(f"{len(rows)} of {len(self.summaries)} videos shown{queue}")

    # ------------------------------------------------------------------ selection
    def _on_current(self, current: QModelIndex, _previous: QModelIndex) -> None:
        if current.isValid():
            self.video_selected.emit(int(self.model.rows[current.row()].video.id))

    def current_video_id(self) -> int | None:
        index = self.view.currentIndex()
        return (
            self.model.rows[index.row()].video.id
            if index.isValid() and index.row() < len(self.model.rows)
            else None
        )

    def select_video(self, video_id: int) -> None:
        """Make ``video_id`` the current row (no video_selected signal: the window asked for it)."""
        self._wanted = video_id
        row = self.model.row_of(video_id)
        if row is not None and self.current_video_id() != video_id:
            sel = self.view.selectionModel()
            sel.blockSignals(True)
            sel.setCurrentIndex(
                self.model.index(row, 0),
                QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows,
            )
            sel.blockSignals(False)

    def activate_row(self, row: int) -> None:
        """Select row ``row`` as a click would (opens that video in the window)."""
        self.view.setCurrentIndex(self.model.index(row, 0))

    def selected_video_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        ids = [self.model.rows[r].video.id for r in rows]
        current = self.current_video_id()
        return ids or ([current] if current is not None else [])

    # ------------------------------------------------------------------ reading the list (tests, scripts)
    def row_count(self) -> int:
        return self.model.rowCount()

    def row_text(self, row: int, column: int) -> str:
        return self.model.text(self.model.rows[row], column, self.model.me)
