"""Parts of the Train dialog (avs_studio.gui.training_dialog): the settings form, whose fields start at
the training defaults (avs_studio.training.settings.DEFAULTS), and the loss / validation curves."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from avs_studio.training.settings import AUTO_BACKBONE, DEFAULTS, help_text

BACKBONES = (AUTO_BACKBONE, "tiny", "resnet18", "mobilenetv3_small_100", "efficientnet_b0")


def _spin(low: int, high: int, step: int, value: int, tip: str) -> QSpinBox:
    spin = QSpinBox()
    return _setup(spin, low, high, step, value, tip)


def _real_spin(low: float, high: float, step: float, value: float, tip: str) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    return _setup(spin, low, high, step, value, tip)


def _setup(spin: Any, low: Any, high: Any, step: Any, value: Any, tip: str) -> Any:
    spin.setRange(low, high)
    spin.setSingleStep(step)
    spin.setValue(value)
    spin.setToolTip(tip)
    return spin


class SettingsForm(QGroupBox):
    """Model name, backbone (+ a note on what "auto" picks), input size, steps, device, edited frames,
    pseudo labels with their weight and minimum score."""

    def __init__(self, image_size: int, steps: int, parent: QWidget | None = None):
        super().__init__("Settings", parent)
        self.name = QLineEdit("student")
        self.backbone = QComboBox()
        self.backbone.addItems(BACKBONES)
        self.backbone.setCurrentText(DEFAULTS.backbone)
        self.backbone.setToolTip(help_text("backbone"))
        self.backbone_note = QLabel()
        self.backbone_note.setWordWrap(True)
        self.backbone_note.setStyleSheet("color: #555;")
        self.image_size = _spin(32, 1024, 32, image_size, help_text("image_size"))
        self.image_size.setSuffix(" px")
        self.steps = _spin(
            1, 1_000_000, 100, steps, help_text("steps") + "; the best validated weights are kept"
        )
        self.device = QComboBox()
        self.device.addItems(["auto", "cpu", "cuda"])
        self.edited = QCheckBox("also learn from corrected keyframes not accepted yet")
        self.edited.setChecked(DEFAULTS.include_edited)
        self.edited.setToolTip(help_text("include_edited"))
        self.pseudo = QCheckBox("also learn from OpenAVS proposals of unreviewed clips")
        self.pseudo.setChecked(DEFAULTS.pseudo_labels)
        self.pseudo.setToolTip(help_text("pseudo_labels"))
        self.pseudo_weight = _real_spin(0.0, 1.0, 0.1, DEFAULTS.pseudo_weight, help_text("pseudo_weight"))
        self.pseudo_min_score = _real_spin(
            0.0, 1.0, 0.05, DEFAULTS.pseudo_min_score, help_text("pseudo_min_score")
        )
        pseudo_row = QHBoxLayout()
        for widget in (QLabel("weight"), self.pseudo_weight, QLabel("min. score"), self.pseudo_min_score):
            pseudo_row.addWidget(widget)
        pseudo_row.addStretch(1)
        form = QFormLayout(self)
        form.addRow("Model name", self.name)
        form.addRow("Backbone", self.backbone)
        form.addRow("", self.backbone_note)
        form.addRow("Input size", self.image_size)
        form.addRow("Steps", self.steps)
        form.addRow("Device", self.device)
        form.addRow("Edited frames", self.edited)
        form.addRow("Pseudo labels", self.pseudo)
        form.addRow("", pseudo_row)

    def data_settings(self) -> dict[str, Any]:
        """The data settings chosen (None: the default applies)."""
        pseudo = self.pseudo.isChecked()
        return {
            "include_edited": self.edited.isChecked(),
            "pseudo_labels": pseudo,
            "pseudo_weight": self.pseudo_weight.value() if pseudo else None,
            "pseudo_min_score": self.pseudo_min_score.value() if pseudo else None,
        }

    def set_running(self, running: bool) -> None:
        for w in (
            self.name,
            self.backbone,
            self.image_size,
            self.steps,
            self.device,
            self.pseudo,
            self.edited,
        ):
            w.setEnabled(not running)
        for spin in (self.pseudo_weight, self.pseudo_min_score):
            spin.setEnabled(not running and self.pseudo.isChecked())


class Curves(QWidget):
    """Training loss per step and validation mIoU per validation step, side by side."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        self.loss_plot = pg.PlotWidget(title="training loss")
        self.loss_curve = self.loss_plot.plot([], [], pen=pg.mkPen("#1f77b4", width=2))
        self.miou_plot = pg.PlotWidget(title="validation mIoU")
        self.miou_plot.setYRange(0, 1)
        self.miou_curve = self.miou_plot.plot(
            [], [], pen=pg.mkPen("#d62728", width=2), symbol="o", symbolSize=6, symbolBrush="#d62728"
        )
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for plot in (self.loss_plot, self.miou_plot):
            plot.setBackground("w")
            plot.setLabel("bottom", "step")
            plot.showGrid(x=True, y=True, alpha=0.3)
            layout.addWidget(plot)

    def show_points(self, losses: list[tuple[int, float]], mious: list[tuple[int, float]]) -> None:
        for curve, points in ((self.loss_curve, losses), (self.miou_curve, mious)):
            xs, ys = zip(*points) if points else ((), ())
            curve.setData(list(xs), list(ys))
