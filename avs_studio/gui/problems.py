"""One dialog for the problems a window reports: a problem reported again while it shows (a key pressed
twice, two strokes refused for one reason, a worker error and its missing-model offer) is not shown
again, and another problem is added to the open dialog instead of stacking a second one on it.

The dialog never blocks (it opens window-modal and returns), so a problem reported from a callback
cannot start a nested event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

Button = tuple[str, Callable[[], object]]  # text, what it does (the dialog closes)


class ProblemBox:
    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.box: QMessageBox | None = None
        self.shown: list[tuple[str, str]] = []  # (title, message) in the open dialog
        self.expected: list[str] = []  # messages a problem on its way will cover (held back till then)

    def is_open(self) -> bool:
        return self.box is not None and self.box.isVisible()

    def showing(self, message: str) -> bool:
        """The open dialog says ``message`` already (or a longer message holding it)."""
        return self.is_open() and any(message in m or m in message for _t, m in self.shown)

    def expect(self, message: str) -> None:
        """A fuller report of this problem is on its way (it will cover ``message``): hold ``message``
        back until then, so the problem is read once."""
        self.expected.append(message)

    def report(
        self, title: str, message: str, buttons: Sequence[Button] = (), covers: Sequence[str] = ()
    ) -> bool:
        """Show a problem; False when the open dialog says it already, or when it is expected to be
        covered by a report on its way. ``covers``: other messages of the same problem (e.g. the worker's
        error behind a missing-model offer), not shown again either."""
        self.expected = [m for m in self.expected if not any(m in c or c in m for c in covers)]
        if self.showing(message) or any(message in m or m in message for m in self.expected):
            return False
        box = self.box
        also = [(title, m) for m in covers]
        if box is not None and self.is_open():
            self.shown += [(title, message), *also]
            box.setText(f"{box.text()}\n\n{title}:\n{message}")
            for text, fn in buttons:
                self._button(box, text, fn)
            return True
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, message, QMessageBox.StandardButton.Ok, self.parent
        )
        box.setObjectName("problem_box")
        box.setStyleSheet("QLabel#qt_msgbox_label { min-width: 520px; }")  # long paths and commands
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        for text, fn in buttons:
            self._button(box, text, fn)
        box.finished.connect(lambda _r, b=box: self._closed(b))
        self.box, self.shown = box, [(title, message), *also]
        box.open()
        return True

    def text(self) -> str:
        return self.box.text() if self.is_open() and self.box is not None else ""

    def click(self, text: str) -> None:
        """Press the open dialog's button ``text`` (as a person would; tests)."""
        assert self.box is not None
        button = next(b for b in self.box.buttons() if b.text() == text)
        button.click()

    def _button(self, box: QMessageBox, text: str, fn: Callable[[], object]) -> None:
        button = box.addButton(text, QMessageBox.ButtonRole.ActionRole)

        def clicked(_checked: bool = False) -> None:
            box.done(0)
            fn()

        button.clicked.connect(clicked)

    def _closed(self, box: QMessageBox) -> None:
        if self.box is box:
            self.box, self.shown = None, []
        box.deleteLater()
