"""Status bar: frame N/total · mm:ss.mmm · stored ✓ · device · models (and who reviewed this frame)."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QStatusBar, QWidget


def clock(t: float) -> str:
    """Seconds -> mm:ss.mmm (hours folded into minutes)."""
    ms = int(round(max(t, 0.0) * 1000))
    return f"{ms // 60000:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


class StatusBar(QStatusBar):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.frame_label = QLabel("no video")
        self.time_label = QLabel("")
        self.stored_label = QLabel("stored ✓")
        self.review_label = QLabel("")
        self.tool_label = QLabel("")
        self.device_label = QLabel("device: –")
        self.models_label = QLabel("models: none loaded")
        self.read_only_label = QLabel("")  # "read-only" marker (set_read_only)
        self.read_only_label.setObjectName("read_only_marker")
        self.read_only_label.hide()
        self.addWidget(self.review_label, 1)  # hidden while a message shows
        self.addWidget(self.tool_label)
        # permanent: frame, time and stored state stay visible while a message shows
        for w in (self.read_only_label, self.frame_label, self.time_label, self.stored_label):
            self.addPermanentWidget(w)
        self.addPermanentWidget(self.device_label)
        self.addPermanentWidget(self.models_label)
        self.stored_label.setToolTip("Every edit is written to the project database when the stroke ends")

    def set_position(self, frame: int, total: int, t: float, keyframe: bool) -> None:
        self.frame_label.setText(f"frame {frame + 1}/{total}" + (" ◆" if keyframe else ""))
        self.frame_label.setToolTip("frame number (1-based) / frames; ◆ = keyframe")
        self.time_label.setText(clock(t))

    def set_stored(self, state: str) -> None:
        """state: stored | saving | failed"""
        text = {"stored": "stored ✓", "saving": "saving…", "failed": "NOT stored ✗"}[state]
        colour = {"stored": "", "saving": "color: #c08000", "failed": "color: #d03030; font-weight: bold"}[
            state
        ]
        self.stored_label.setText(text)
        self.stored_label.setStyleSheet(colour)

    def set_read_only(self, reason: str) -> None:
        """Show (reason given) or hide the read-only marker."""
        self.read_only_label.setText("read-only" if reason else "")
        self.read_only_label.setToolTip(f"This project opened read-only ({reason}): nothing can be changed")
        self.read_only_label.setStyleSheet(
            "color: white; background: #b03030; padding: 0 6px; font-weight: bold"
        )
        self.read_only_label.setVisible(bool(reason))

    def set_review(self, text: str) -> None:
        self.review_label.setText(text)

    def set_tool(self, text: str) -> None:
        self.tool_label.setText(text)

    def set_device(self, device: str) -> None:
        self.device_label.setText(device or "device: –")

    def set_device_models(self, device: str, models: str) -> None:
        self.set_device(device)
        self.set_models(models)

    def set_models(self, models: str) -> None:
        self.models_label.setText(models or "models: none loaded")
