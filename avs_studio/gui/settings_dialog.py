"""SettingsDialog: pipeline settings (device, models per stage, LLM endpoint, keyframe rate, thresholds).

The dialog edits the project setting "pipeline", typed by ``avs_studio.settings.PipelineSettings`` (its
keys, types, defaults and checks live there; the main window stores it through ``store.set_setting``).
Values travel as that model's plain dict::

    {"profile": "default", "device": "auto", "describers": ["ast", "whisper"], "translator": "openai",
     "segmenter": "gdino-sam2", "point_segmenter": "sam", "llm": {"base_url": "", "model": "", "api_key": ""},
     "keyframe_rate": 1.0, "box_threshold": 0.25, "text_threshold": 0.25}

Public API
    SettingsDialog(values: dict | None = None, parent=None)
        values() -> dict          the edited settings (api_key included, never logged)
        set_values(dict)          fill the form (missing keys take the profile's values; a bad value is
                                  replaced and named in error_label)
        validate() -> list[str]   clear messages, empty when valid; OK is refused while not empty
        error_label               QLabel that shows the messages
    default_settings(profile="default") -> dict        the settings a profile implies
    validate_settings, pipeline_config, redacted       re-exported from avs_studio.settings

The API key is shown masked, kept in the user's own key store by ``Store.set_setting`` (avs_studio.keystore),
never in the project database, and is never written to logs or messages (``redacted(values)`` gives a copy
safe to print).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QVBoxLayout,
    QWidget,
)

import avs_studio.openavs  # noqa: F401  (fills the stage registries)
from avs_studio import keystore
from avs_studio.openavs.config import user_profiles
from avs_studio.openavs.registry import DESCRIBERS, POINT_SEGMENTERS, SEGMENTERS, TRANSLATORS, Registry
from avs_studio.settings import (  # noqa: F401  (re-exported: the dialog's Qt-free half)
    PipelineSettings,
    pipeline_config,
    pipeline_values,
    redacted,
    validate_settings,
)

DEVICES = ("auto", "cpu", "cuda")
NO_POINT_SEGMENTER = "(none)"
TEST_STAGES_MODULE = "avs_studio.openavs.testing"  # deterministic stages for tests: valid, not offered


def stage_names(registry: Registry) -> list[str]:
    """Names offered in the dialog: the registry's stages less the test-only ones."""
    return [
        n for n in registry.names() if getattr(registry.factory(n), "__module__", "") != TEST_STAGES_MODULE
    ]


def default_settings(profile: str = "default") -> dict[str, Any]:
    """The settings dict a built-in profile implies (LLM endpoint unset)."""
    return PipelineSettings.for_profile(profile).model_dump()


def _choose(combo: QComboBox, text: str) -> None:
    if text and combo.findText(text) < 0:
        combo.addItem(text)
    combo.setCurrentText(text)


class SettingsDialog(QDialog):
    """Edit the pipeline settings dict; OK only when ``validate()`` finds nothing."""

    def __init__(self, values: dict[str, Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Pipeline settings")
        self.profile = QComboBox()
        self.profile.addItems(user_profiles())
        self.device = QComboBox()
        self.device.setEditable(True)  # cuda:1 etc.
        self.device.addItems(DEVICES)
        self.describers = QListWidget()
        for name in stage_names(DESCRIBERS):
            item = QListWidgetItem(name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.describers.addItem(item)
        self.describers.setMaximumHeight(22 * max(3, min(self.describers.count(), 6)))
        self.translator = QComboBox()
        self.translator.addItems(stage_names(TRANSLATORS))
        self.segmenter = QComboBox()
        self.segmenter.addItems(stage_names(SEGMENTERS))
        self.point_segmenter = QComboBox()
        self.point_segmenter.addItems([NO_POINT_SEGMENTER, *stage_names(POINT_SEGMENTERS)])
        self.base_url = QLineEdit()
        self.base_url.setPlaceholderText("https://api.example.com/v1 (empty: no LLM, offline translator)")
        self.llm_model = QLineEdit()
        self.llm_model.setPlaceholderText("model name, e.g. gpt-4o-mini")
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("API key (kept in your own key store, never in the project)")
        self.api_key.setToolTip(f"Kept for this endpoint in {keystore.location()}; see README ▸ Use")
        self.keyframe_rate = QDoubleSpinBox()
        self.keyframe_rate.setRange(0.0, 60.0)
        self.keyframe_rate.setDecimals(2)
        self.keyframe_rate.setSuffix(" / s")
        self.box_threshold = QDoubleSpinBox()
        self.text_threshold = QDoubleSpinBox()
        for spin in (self.box_threshold, self.text_threshold):
            spin.setRange(0.0, 1.0)
            spin.setSingleStep(0.05)
            spin.setDecimals(2)

        models = QGroupBox("Models")
        form = QFormLayout(models)
        form.addRow("Profile", self.profile)
        form.addRow("Device", self.device)
        form.addRow("Audio describers", self.describers)
        form.addRow("Prompt translator", self.translator)
        form.addRow("Text segmenter", self.segmenter)
        form.addRow("Point segmenter (clicks)", self.point_segmenter)
        llm = QGroupBox("LLM endpoint (OpenAI-compatible)")
        form2 = QFormLayout(llm)
        form2.addRow("Base URL", self.base_url)
        form2.addRow("Model", self.llm_model)
        form2.addRow("API key", self.api_key)
        proposals = QGroupBox("Proposals")
        form3 = QFormLayout(proposals)
        form3.addRow("Keyframe rate", self.keyframe_rate)
        form3.addRow("Box threshold", self.box_threshold)
        form3.addRow("Text threshold", self.text_threshold)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #d03838;")
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for w in (models, llm, proposals, self.error_label, self.buttons):
            layout.addWidget(w)
        self._filling = False
        self.set_values(values or default_settings())
        self.profile.currentTextChanged.connect(self._profile_changed)
        self.resize(520, self.sizeHint().height())

    # ------------------------------------------------------------------ values
    def set_values(self, values: dict[str, Any]) -> None:
        typed, notes = pipeline_values(values)
        v = typed.model_dump()
        self.error_label.setText("\n".join(f"{n} The profile's value is shown." for n in notes))
        self._filling = True
        try:
            if self.profile.findText(v["profile"]) < 0:  # a project set to a profile not offered
                self.profile.addItem(v["profile"])
            self.profile.setCurrentText(v["profile"])
            self.device.setCurrentText(str(v["device"]))
            chosen = set(v["describers"])
            listed = {self.describers.item(i).text() for i in range(self.describers.count())}
            for name in sorted(chosen - listed):  # a stage not offered by default (tests) stays visible
                item = QListWidgetItem(name)
                item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                self.describers.addItem(item)
            for i in range(self.describers.count()):
                item = self.describers.item(i)
                item.setCheckState(
                    Qt.CheckState.Checked if item.text() in chosen else Qt.CheckState.Unchecked
                )
            _choose(self.translator, v["translator"])
            _choose(self.segmenter, v["segmenter"])
            _choose(self.point_segmenter, v["point_segmenter"] or NO_POINT_SEGMENTER)
            self.base_url.setText(v["llm"].get("base_url", ""))
            self.llm_model.setText(v["llm"].get("model", ""))
            self.api_key.setText(v["llm"].get("api_key", ""))
            self.keyframe_rate.setValue(float(v["keyframe_rate"]))
            self.box_threshold.setValue(float(v["box_threshold"]))
            self.text_threshold.setValue(float(v["text_threshold"]))
        finally:
            self._filling = False

    def values(self) -> dict[str, Any]:
        point = self.point_segmenter.currentText()
        return {
            "profile": self.profile.currentText(),
            "device": self.device.currentText().strip(),
            "describers": [
                self.describers.item(i).text()
                for i in range(self.describers.count())
                if self.describers.item(i).checkState() == Qt.CheckState.Checked
            ],
            "translator": self.translator.currentText(),
            "segmenter": self.segmenter.currentText(),
            "point_segmenter": None if point == NO_POINT_SEGMENTER else point,
            "llm": {
                "base_url": self.base_url.text().strip(),
                "model": self.llm_model.text().strip(),
                "api_key": self.api_key.text().strip(),
            },
            "keyframe_rate": round(self.keyframe_rate.value(), 4),
            "box_threshold": round(self.box_threshold.value(), 4),
            "text_threshold": round(self.text_threshold.value(), 4),
        }

    def _profile_changed(self, profile: str) -> None:
        """Picking a profile fills the stages from it; the LLM endpoint stays."""
        if self._filling:
            return
        llm = self.values()["llm"]
        self.set_values({**default_settings(profile), "llm": llm})

    # ------------------------------------------------------------------ validation
    def validate(self) -> list[str]:
        errors = validate_settings(self.values())
        self.error_label.setText("\n".join(errors))
        return errors

    def accept(self) -> None:
        if self.validate():
            return
        super().accept()
