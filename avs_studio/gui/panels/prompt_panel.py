"""Prompt panel: for the current clip, each second's describer texts, the LLM answer and the phrases used.

Editing a frame's phrases asks the main window to segment that frame again (on the inference worker).
The data shown is ``session.prompts.ClipPrompt``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from avs_studio.session.display import frame_number
from avs_studio.session.prompts import ClipPrompt, phrase_list


class PromptPanel(QWidget):
    phrases_edited = Signal(int, list)  # frame, phrases

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.header = QLabel("No OpenAVS results for this clip yet (Annotate ▸ Run OpenAVS on current clip).")
        self.header.setWordWrap(True)
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["", "text"])
        self.tree.setColumnWidth(0, 110)
        self.tree.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.header)
        layout.addWidget(self.tree, 1)
        self.clip: ClipPrompt | None = None
        self.editors: dict[int, QLineEdit] = {}
        self._fps = 1.0

    def set_clip(self, clip: ClipPrompt | None, fps: float, current_frame: int) -> None:
        self.clip, self._fps = clip, fps or 1.0
        self.tree.clear()
        self.editors = {}
        if clip is None:
            self.header.setText(
                "No OpenAVS results for this clip yet (Annotate ▸ Run OpenAVS on current clip)."
            )
            return
        models = ", ".join(f"{k}: {v}" for k, v in clip.models.items())
        self.header.setText(
            f"Run {clip.run_id} · translator {clip.translator or '?'} · {clip.attempts} attempt(s)"
            + (f"\n{models}" if models else "")
        )
        for fp in clip.frames:
            top = QTreeWidgetItem([f"frame {frame_number(fp.frame)}", self._time(fp.frame)])
            top.setData(0, Qt.ItemDataRole.UserRole, fp.frame)
            self.tree.addTopLevelItem(top)
            for name, text in fp.descriptions.items():
                child = QTreeWidgetItem([name, text])
                child.setToolTip(1, text)
                top.addChild(child)
            top.addChild(QTreeWidgetItem(["LLM answer", ", ".join(fp.answer) or "(nothing sounds)"]))
            edit_item = QTreeWidgetItem(["phrases", ""])
            top.addChild(edit_item)
            editor = QLineEdit(", ".join(fp.phrases))
            editor.setToolTip("Comma-separated phrases; Enter segments this frame again with them")
            editor.editingFinished.connect(lambda f=fp.frame, e=editor: self._edited(f, e))
            self.tree.setItemWidget(edit_item, 1, editor)
            self.editors[fp.frame] = editor
            top.setExpanded(True)
        self.tree.resizeColumnToContents(0)
        if clip.raw:
            raw = QTreeWidgetItem(["LLM raw", clip.raw[:200]])
            raw.setToolTip(1, clip.raw)
            raw.addChild(QTreeWidgetItem(["prompt", clip.prompt]))
            self.tree.addTopLevelItem(raw)
        self.highlight(current_frame)

    def _time(self, frame: int) -> str:
        t = frame / self._fps
        return f"{int(t // 60):02d}:{t % 60:06.3f}"

    def highlight(self, frame: int) -> None:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            on = item.data(0, Qt.ItemDataRole.UserRole) == frame
            font = item.font(0)
            font.setBold(on)
            item.setFont(0, font)

    def phrases(self, frame: int) -> list[str] | None:
        """The phrases of ``frame`` as shown (edits included); None when the frame has no prompt."""
        editor = self.editors.get(frame)
        return None if editor is None else phrase_list(editor.text())

    def _edited(self, frame: int, editor: QLineEdit) -> None:
        phrases = phrase_list(editor.text())
        fp = next((f for f in self.clip.frames if f.frame == frame), None) if self.clip else None
        if fp is not None and phrases != fp.phrases:
            fp.phrases = phrases
            self.phrases_edited.emit(frame, phrases)
