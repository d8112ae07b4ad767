"""Shortcut editor (rebind keys, conflict check, reset) and the read-only F1 list.

A shortcut mapping is a plain dict ``{action_id: "Ctrl+Z"}`` (Qt portable key text, "" = no key). The
editor applies it on OK through ``apply`` (default ``apply_shortcuts``: the QActions only); the main
window passes ``ActionTable.apply_mapping``, which also remembers the keys (the one shortcut storage,
the user's QSettings, see ``gui/actions.py``).

Usage::

    table = window.action_table
    dlg = ShortcutEditor(table.actions, table.default_mapping(), parent=window, apply=table.apply_mapping)
    dlg.exec()                                             # OK: applied and remembered

Public API
    normalise_key(text) -> str                     portable form of a key ("ctrl+z" -> "Ctrl+Z"), "" for none
    current_mapping(actions) -> dict[str, str]     each action's first shortcut
    find_conflicts(mapping) -> dict[str, list[str]]   key -> action ids, for keys bound more than once
    apply_shortcuts(actions, mapping) -> list[str]     sets the keys (ids not in ``actions`` ignored);
                                                       raises ShortcutConflict (nothing applied) on clashes
    ShortcutEditor(actions, defaults, mapping=None, parent=None, apply=apply_shortcuts)   QDialog
        mapping() -> dict[str, str]          the edited keys
        set_key(action_id, key) -> str | None    assign; returns the conflict message (not applied) or None
        reset_defaults()                     every action back to its default key
        message (QLabel), table (QTableWidget: action, id, key, default), key_edit (QKeySequenceEdit)
    ShortcutListDialog(actions, parent=None)   F1: read-only table of action, keys, tooltip
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

PORTABLE = QKeySequence.SequenceFormat.PortableText
NATIVE = QKeySequence.SequenceFormat.NativeText
COL_NAME, COL_ID, COL_KEY, COL_DEFAULT = range(4)


class ShortcutConflict(ValueError):
    """Two actions would share a key; the message names the key and the actions."""


def normalise_key(text: str | QKeySequence | None) -> str:
    if text is None:
        return ""
    seq = text if isinstance(text, QKeySequence) else QKeySequence(str(text).strip(), PORTABLE)
    return seq.toString(PORTABLE)


def _label(action: QAction | None, action_id: str) -> str:
    return action.text().replace("&", "").rstrip("…") if action is not None else action_id


def current_mapping(actions: Mapping[str, QAction]) -> dict[str, str]:
    return {aid: normalise_key(a.shortcut()) for aid, a in actions.items()}


def find_conflicts(mapping: Mapping[str, str]) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {}
    for aid, key in mapping.items():
        k = normalise_key(key)
        if k:
            seen.setdefault(k, []).append(aid)
    return {k: ids for k, ids in seen.items() if len(ids) > 1}


def _conflict_text(key: str, ids: list[str], actions: Mapping[str, QAction]) -> str:
    names = " and ".join(f"“{_label(actions.get(i), i)}”" for i in ids)
    shown = QKeySequence(key, PORTABLE).toString(NATIVE)
    return f"“{shown}” is used by {names}; give one of them another key."


def apply_shortcuts(actions: Mapping[str, QAction], mapping: Mapping[str, str]) -> list[str]:
    """Set each action's key from ``mapping`` (actions not named keep theirs); returns the ids changed.

    The result is checked as a whole first: on a clash ShortcutConflict is raised and nothing changes.
    """
    merged = current_mapping(actions)
    merged.update({aid: normalise_key(k) for aid, k in mapping.items() if aid in actions})
    clashes = find_conflicts(merged)
    if clashes:
        raise ShortcutConflict("; ".join(_conflict_text(k, ids, actions) for k, ids in clashes.items()))
    changed = []
    for aid, key in mapping.items():
        action = actions.get(aid)
        if action is None:
            continue
        key = normalise_key(key)
        if normalise_key(action.shortcut()) != key:
            action.setShortcut(QKeySequence(key, PORTABLE))
            changed.append(aid)
    return changed


class ShortcutEditor(QDialog):
    def __init__(
        self,
        actions: Mapping[str, QAction],
        defaults: Mapping[str, str],
        mapping: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
        apply: Callable[[Mapping[str, str]], object] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        self.actions = dict(actions)
        self._apply = apply
        self.defaults = {aid: normalise_key(defaults.get(aid, "")) for aid in self.actions}
        self._mapping = current_mapping(self.actions)
        if mapping:
            self._mapping.update({aid: normalise_key(k) for aid, k in mapping.items() if aid in self.actions})
        self._ids = list(self.actions)
        self.table = QTableWidget(len(self._ids), 4)
        self.table.setHorizontalHeaderLabels(["action", "id", "key", "default"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        for r, aid in enumerate(self._ids):
            self.table.setItem(r, COL_NAME, QTableWidgetItem(_label(self.actions[aid], aid)))
            self.table.setItem(r, COL_ID, QTableWidgetItem(aid))
            self.table.setItem(r, COL_KEY, QTableWidgetItem())
            self.table.setItem(r, COL_DEFAULT, QTableWidgetItem(self._shown(self.defaults[aid])))
        self._refresh()
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.itemSelectionChanged.connect(self._selected)
        self.key_edit = QKeySequenceEdit()
        self.key_edit.setMaximumSequenceLength(1)
        self.key_edit.setClearButtonEnabled(True)
        self.key_edit.editingFinished.connect(self._assign_from_edit)
        clear = QPushButton("No key")
        clear.clicked.connect(lambda: self._assign_current(""))
        reset_one = QPushButton("Default")
        reset_one.clicked.connect(lambda: self._assign_current(self.defaults.get(self._current() or "", "")))
        reset_all = QPushButton("Reset all")
        reset_all.clicked.connect(self.reset_defaults)
        row = QHBoxLayout()
        row.addWidget(QLabel("New key:"))
        row.addWidget(self.key_edit, 1)
        row.addWidget(clear)
        row.addWidget(reset_one)
        row.addWidget(reset_all)
        self.message = QLabel("Select an action, then press the new key.")
        self.message.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        self.resize(640, 560)

    # ------------------------------------------------------------------ API
    def mapping(self) -> dict[str, str]:
        return dict(self._mapping)

    def set_key(self, action_id: str, key: str | QKeySequence) -> str | None:
        """Bind ``key`` to ``action_id`` in the editor; returns the conflict message (not applied) or None."""
        if action_id not in self._mapping:
            raise KeyError(f"unknown action {action_id!r}")
        k = normalise_key(key)
        others = [aid for aid, v in self._mapping.items() if k and v == k and aid != action_id]
        if others:
            msg = _conflict_text(k, [action_id, *others], self.actions) + " Not changed."
            self._say(msg, error=True)
            return msg
        self._mapping[action_id] = k
        self._refresh()
        self._say(f"“{_label(self.actions[action_id], action_id)}”: {self._shown(k) or 'no key'}.")
        return None

    def reset_defaults(self) -> None:
        self._mapping = dict(self.defaults)
        self._refresh()
        self._say("All keys are back to their defaults.")

    def accept(self) -> None:
        try:
            if self._apply is None:
                apply_shortcuts(self.actions, self._mapping)
            else:
                self._apply(self._mapping)
        except ShortcutConflict as exc:  # defaults that clash, or an inconsistent starting mapping
            self._say(str(exc), error=True)
            return
        super().accept()

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _shown(key: str) -> str:
        return QKeySequence(key, PORTABLE).toString(NATIVE) if key else ""

    def _say(self, text: str, error: bool = False) -> None:
        self.message.setText(text)
        self.message.setStyleSheet("color: #d03838;" if error else "")

    def _refresh(self) -> None:
        for r, aid in enumerate(self._ids):
            item = self.table.item(r, COL_KEY)
            item.setText(self._shown(self._mapping[aid]))
            changed = self._mapping[aid] != self.defaults[aid]
            font = item.font()
            font.setBold(changed)
            item.setFont(font)

    def _current(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self._ids[rows[0].row()] if rows else None

    def _selected(self) -> None:
        aid = self._current()
        if aid is not None:
            self.key_edit.setKeySequence(QKeySequence(self._mapping[aid], PORTABLE))

    def _assign_from_edit(self) -> None:
        self._assign_current(self.key_edit.keySequence())

    def _assign_current(self, key: str | QKeySequence) -> None:
        aid = self._current()
        if aid is None:
            self._say("Select an action first.", error=True)
            return
        if self.set_key(aid, key) is not None:
            self.key_edit.setKeySequence(QKeySequence(self._mapping[aid], PORTABLE))


class ShortcutListDialog(QDialog):
    """F1: every action with its keys and what it does (read-only)."""

    def __init__(self, actions: Mapping[str, QAction], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Shortcuts")
        self.table = QTableWidget(len(actions), 3)
        self.table.setHorizontalHeaderLabels(["action", "keys", "what it does"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for r, (aid, action) in enumerate(actions.items()):
            keys = ", ".join(k.toString(NATIVE) for k in action.shortcuts() if not k.isEmpty())
            cells = (_label(action, aid), keys, action.statusTip() or action.toolTip())
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(640, 520)
