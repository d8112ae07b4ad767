"""Object panel: each sounding object of the video (phrase, colour, visible, locked) and its state here."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QIcon, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from avs_studio.session.display import STATUS_COLOURS, when
from avs_studio.store import AnnotationRow, ObjectRow

COLUMNS = ("#", "phrase", "visible", "locked", "on this frame")


def swatch(colour: str, size: int = 14) -> QIcon:
    pix = QPixmap(size, size)
    pix.fill(QColor(colour))
    return QIcon(pix)


def review_text(row: AnnotationRow | None) -> str:
    if row is None:
        return "no mask"
    if row.reviewed_by and row.reviewed_at:
        return f"{row.status} by {row.reviewed_by} {when(row.reviewed_at)}"
    who = f" by {row.author}" if row.author and row.status == "edited" else ""
    return f"{row.status}{who}"


class ObjectPanel(QWidget):
    selected = Signal(object)  # object id or None
    add_requested = Signal(str)  # label
    rename_requested = Signal(int, str)
    merge_requested = Signal(int, int)  # keep, drop
    delete_requested = Signal(int)
    flags_changed = Signal(int, bool, bool)  # object id, visible, locked

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.objects: list[ObjectRow] = []
        self.confirm_delete = True  # tests switch the question off
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.detail = QLabel()
        self.detail.setWordWrap(True)
        buttons = QHBoxLayout()
        self.add_button = QPushButton("Add")
        self.add_button.setToolTip("Add a sounding object to this video")
        self.rename_button = QPushButton("Rename")
        self.rename_button.setToolTip("Change the selected object's phrase (or double-click it)")
        self.merge_button = QPushButton("Merge")
        self.merge_button.setToolTip("Merge the second selected object into the first")
        self.delete_button = QPushButton("Delete")
        self.delete_button.setToolTip("Delete the selected object and its masks")
        for b in (self.add_button, self.rename_button, self.merge_button, self.delete_button):
            buttons.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.detail)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self._add)
        self.rename_button.clicked.connect(self._rename)
        self.merge_button.clicked.connect(self._merge)
        self.delete_button.clicked.connect(self._delete)
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.itemChanged.connect(self._on_item_changed)

    # ------------------------------------------------------------------ content
    def set_objects(
        self, objects: list[ObjectRow], annotations: dict[int, AnnotationRow], selected: int | None
    ) -> None:
        self.objects = objects
        self.table.blockSignals(True)
        self.table.setRowCount(len(objects))
        for row, obj in enumerate(objects):
            number = QTableWidgetItem(str(row + 1) if row < 9 else "")
            number.setIcon(swatch(obj.colour))
            number.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            number.setData(Qt.ItemDataRole.UserRole, obj.id)
            number.setToolTip(f"key {row + 1}" if row < 9 else "")
            phrase = QTableWidgetItem(obj.label)
            phrase.setFlags(
                Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable
            )
            visible = QTableWidgetItem()
            visible.setFlags(
                Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
            )
            visible.setCheckState(Qt.CheckState.Checked if obj.visible else Qt.CheckState.Unchecked)
            locked = QTableWidgetItem()
            locked.setFlags(
                Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsSelectable
            )
            locked.setCheckState(Qt.CheckState.Checked if obj.locked else Qt.CheckState.Unchecked)
            ann = annotations.get(obj.id)
            state = QTableWidgetItem(review_text(ann))
            state.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
            if ann is not None:
                state.setForeground(QBrush(QColor(STATUS_COLOURS.get(ann.status, "#888888"))))
            for col, item in enumerate((number, phrase, visible, locked, state)):
                self.table.setItem(row, col, item)
        self.table.clearSelection()
        for row, obj in enumerate(objects):
            if obj.id == selected:
                self.table.selectRow(row)
        self.table.resizeColumnsToContents()
        self.table.blockSignals(False)
        self._show_detail(annotations)

    def _show_detail(self, annotations: dict[int, AnnotationRow]) -> None:
        obj_id = self.selected_id()
        ann = annotations.get(obj_id) if obj_id is not None else None
        if obj_id is None:
            self.detail.setText("No object selected (keys 1…9 select).")
        elif ann is None:
            self.detail.setText("The selected object has no mask on this frame.")
        else:
            self.detail.setText(
                f"{review_text(ann)} · {ann.area} px · source {ann.source} · version {ann.version}"
            )

    def selected_ids(self) -> list[int]:
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        return [self.objects[r].id for r in rows if r < len(self.objects)]

    def selected_id(self) -> int | None:
        ids = self.selected_ids()
        return ids[0] if ids else None

    # ------------------------------------------------------------------ user actions
    def _on_selection(self) -> None:
        self.selected.emit(self.selected_id())

    def _on_item_changed(self, item: QTableWidgetItem) -> None:
        row = item.row()
        if row >= len(self.objects):
            return
        obj = self.objects[row]
        if item.column() == 1:
            label = item.text().strip()
            if label and label != obj.label:
                self.rename_requested.emit(obj.id, label)
        elif item.column() in (2, 3):
            visible = self.table.item(row, 2).checkState() == Qt.CheckState.Checked
            locked = self.table.item(row, 3).checkState() == Qt.CheckState.Checked
            self.flags_changed.emit(obj.id, visible, locked)

    def _add(self) -> None:
        label, ok = QInputDialog.getText(self, "Add object", "Phrase of the sounding object:")
        if ok and label.strip():
            self.add_requested.emit(label.strip())

    def _rename(self) -> None:
        obj_id = self.selected_id()
        if obj_id is None:
            return
        current = next(o.label for o in self.objects if o.id == obj_id)
        label, ok = QInputDialog.getText(self, "Rename object", "Phrase:", text=current)
        if ok and label.strip() and label.strip() != current:
            self.rename_requested.emit(obj_id, label.strip())

    def _merge(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 2:
            self.merge_requested.emit(ids[0], ids[1])

    def _delete(self) -> None:
        obj_id = self.selected_id()
        if obj_id is None:
            return
        if self.confirm_delete:
            label = next(o.label for o in self.objects if o.id == obj_id)
            answer = QMessageBox.question(
                self,
                "Delete object",
                f"Delete {label!r} and all its masks in this video? This cannot be undone.",
            )
            if answer != QMessageBox.StandardButton.Yes:
                return
        self.delete_requested.emit(obj_id)
