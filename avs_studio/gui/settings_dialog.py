"""SettingsDialog: pipeline settings (device, models per stage, LLM endpoint, keyframe rate, thresholds).

The dialog reads and writes one plain dict (the main window persists it with
``store.set_setting("pipeline", values)``)::

    {
      "profile": "default",              # built-in profile the stages start from (openavs.config.profiles())
      "device": "auto",                  # auto | cpu | cuda | cuda:N
      "describers": ["ast", "whisper"],  # names from openavs.registry.DESCRIBERS (at least one)
      "translator": "openai",            # TRANSLATORS
      "segmenter": "gdino-sam2",         # SEGMENTERS
      "point_segmenter": "sam",          # POINT_SEGMENTERS, or None
      "llm": {"base_url": "", "model": "", "api_key": ""},   # OpenAI-compatible endpoint ("" = unset)
      "keyframe_rate": 1.0,              # keyframes per second, (0, 60]
      "box_threshold": 0.25,             # text segmenter thresholds, [0, 1]
      "text_threshold": 0.25,
    }

Public API
    SettingsDialog(values: dict | None = None, parent=None)
        values() -> dict          the edited settings (validated form; api_key included, never logged)
        set_values(dict)          fill the form (missing keys take the profile's values)
        validate() -> list[str]   clear messages, empty when valid; OK is refused while not empty
        error_label               QLabel that shows the messages
    default_settings(profile="default") -> dict        the settings a profile implies
    validate_settings(values) -> list[str]              the same checks without a dialog
    pipeline_config(values) -> PipelineConfig           the profile with these settings applied (ConfigError)

The API key is shown masked, kept in the user's own key store by ``Store.set_setting`` (avs_studio.keystore),
never in the project database, and is never written to logs or messages (``redacted(values)`` gives a copy
safe to print).
"""

from __future__ import annotations

import copy
import inspect
import tomllib
from typing import Any
from urllib.parse import urlparse

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
from avs_studio.openavs.config import PipelineConfig, parse_config, profiles, profiles_dir
from avs_studio.openavs.registry import DESCRIBERS, POINT_SEGMENTERS, SEGMENTERS, TRANSLATORS, Registry

DEVICES = ("auto", "cpu", "cuda")
NO_POINT_SEGMENTER = "(none)"
THRESHOLD_KEYS = ("box_threshold", "text_threshold")
TEST_STAGES_MODULE = "avs_studio.openavs.testing"  # deterministic stages for tests: valid, not offered


def stage_names(registry: Registry) -> list[str]:
    """Names offered in the dialog: the registry's stages less the test-only ones."""
    return [
        n for n in registry.names() if getattr(registry.factory(n), "__module__", "") != TEST_STAGES_MODULE
    ]


def _profile_data(profile: str) -> dict[str, Any]:
    if profile not in profiles():
        raise ValueError(f"unknown pipeline profile {profile!r}; built-in profiles: {', '.join(profiles())}")
    return tomllib.loads((profiles_dir() / f"{profile}.toml").read_text(encoding="utf-8"))


def default_settings(profile: str = "default") -> dict[str, Any]:
    """The settings dict a built-in profile implies (LLM endpoint unset)."""
    data = _profile_data(profile)
    pipe = data.get("pipeline", {})
    seg = data.get("segmenter", {})
    point = data.get("point_segmenter")
    return {
        "profile": profile,
        "device": str(pipe.get("device", "auto")),
        "describers": [d["name"] for d in data.get("describers", [])],
        "translator": data.get("translator", {}).get("name", ""),
        "segmenter": seg.get("name", ""),
        "point_segmenter": point.get("name") if point else None,
        "llm": {"base_url": "", "model": "", "api_key": ""},
        "keyframe_rate": float(pipe.get("keyframe_rate", 1.0)),
        "box_threshold": float(seg.get("box_threshold", 0.25)),
        "text_threshold": float(seg.get("text_threshold", 0.25)),
    }


def redacted(values: dict[str, Any]) -> dict[str, Any]:
    """A copy safe to log: the API key replaced by "***" when set."""
    out = copy.deepcopy(values)
    llm = out.get("llm")
    if isinstance(llm, dict) and llm.get("api_key"):
        llm["api_key"] = "***"
    return out


def _device_ok(device: str) -> bool:
    if device in DEVICES:
        return True
    head, _, index = device.partition(":")
    return head == "cuda" and index.isdigit()


def validate_settings(values: dict[str, Any]) -> list[str]:
    """Messages naming each bad setting and what is allowed; [] when all are valid."""
    errors: list[str] = []
    if values.get("profile") not in profiles():
        errors.append(
            f"Profile {values.get('profile')!r} is not a built-in profile ({', '.join(profiles())})."
        )
    device = str(values.get("device", ""))
    if not _device_ok(device):
        errors.append(f"Device {device!r} is not valid: use auto, cpu, cuda or cuda:N.")
    describers = values.get("describers") or []
    if not describers:
        errors.append("Choose at least one audio describer.")
    for name in describers:
        if name not in DESCRIBERS:
            errors.append(f"Describer {name!r} is not available ({', '.join(DESCRIBERS.names())}).")
    for key, reg in (("translator", TRANSLATORS), ("segmenter", SEGMENTERS)):
        if values.get(key) not in reg:
            errors.append(
                f"{key.capitalize()} {values.get(key)!r} is not available ({', '.join(reg.names())})."
            )
    point = values.get("point_segmenter")
    if point is not None and point not in POINT_SEGMENTERS:
        errors.append(f"Point segmenter {point!r} is not available ({', '.join(POINT_SEGMENTERS.names())}).")
    llm = values.get("llm") or {}
    url = str(llm.get("base_url", "")).strip()
    if url:
        parts = urlparse(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(f"LLM base URL {url!r} must start with http:// or https:// and name a host.")
    try:
        rate = float(values.get("keyframe_rate", 0))
        if not 0 < rate <= 60:
            errors.append(f"Keyframe rate {rate:g} must be above 0 and at most 60 per second.")
    except (TypeError, ValueError):
        errors.append("Keyframe rate must be a number of keyframes per second.")
    for key in THRESHOLD_KEYS:
        try:
            v = float(values.get(key, -1))
            if not 0 <= v <= 1:
                errors.append(f"{key.replace('_', ' ').capitalize()} {v:g} must be between 0 and 1.")
        except (TypeError, ValueError):
            errors.append(f"{key.replace('_', ' ').capitalize()} must be a number between 0 and 1.")
    return errors


def _accepts(registry: Registry, name: str, param: str) -> bool:
    if name not in registry:
        return False
    factory = registry.factory(name)
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        return False
    return param in params  # named only: **params factories may pass them on to a class that refuses them


def pipeline_config(values: dict[str, Any]) -> PipelineConfig:
    """The profile's pipeline with these settings applied; raises ConfigError naming a bad setting.

    A stage keeps the profile's parameters when its name is unchanged; a newly chosen stage starts from its
    factory's defaults. The LLM endpoint fills the `openai` translator (unset: the profile's fallback).
    """
    data = _profile_data(str(values.get("profile", "default")))
    pipe = dict(data.get("pipeline", {}))
    pipe["device"] = str(values.get("device", pipe.get("device", "auto")))
    pipe["keyframe_rate"] = float(values.get("keyframe_rate", pipe.get("keyframe_rate", 1.0)))
    data["pipeline"] = pipe
    old = {d.get("name"): d for d in data.get("describers", [])}
    data["describers"] = [old.get(n, {"name": n}) for n in values.get("describers", list(old))]
    for key in ("translator", "segmenter"):
        name = values.get(key)
        if name and data.get(key, {}).get("name") != name:
            data[key] = {"name": name}
    seg = dict(data["segmenter"])
    for key in THRESHOLD_KEYS:
        if key in values and (key in seg or _accepts(SEGMENTERS, seg["name"], key)):
            seg[key] = float(values[key])
    data["segmenter"] = seg
    if "point_segmenter" in values:
        point = values["point_segmenter"]
        if point is None:
            data.pop("point_segmenter", None)
        elif (data.get("point_segmenter") or {}).get("name") != point:
            data["point_segmenter"] = {"name": point}
    llm = {k: v for k, v in (values.get("llm") or {}).items() if v}
    cfg = parse_config(data, f"settings (profile {values.get('profile', 'default')})", llm=llm)
    cfg.profile = str(values.get("profile", "default"))
    return cfg


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
        self.profile.addItems(profiles())
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
        base = default_settings(
            values.get("profile", "default") if values.get("profile") in profiles() else "default"
        )
        v = {**base, **values, "llm": {**base["llm"], **(values.get("llm") or {})}}
        self._filling = True
        try:
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
