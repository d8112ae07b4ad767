"""SettingsDialog, ModelDownloadDialog (against a local HTTP server), ShortcutEditor and the F1 list."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QDialog, QLabel, QLineEdit

from avs_studio.gui.model_dialog import ModelDownloadDialog, missing_models
from avs_studio.gui.settings_dialog import (
    SettingsDialog,
    default_settings,
    pipeline_config,
    redacted,
    validate_settings,
)
from avs_studio.gui.shortcuts import (
    ShortcutConflict,
    ShortcutEditor,
    ShortcutListDialog,
    apply_shortcuts,
    find_conflicts,
)

# ---------------------------------------------------------------- settings


def edited_values() -> dict:
    v = default_settings("offline")
    v.update(
        device="cuda:1",
        describers=["ast", "clap"],
        translator="openai",
        segmenter="gdino-sam",
        point_segmenter=None,
        llm={"base_url": "http://127.0.0.1:8000/v1", "model": "qwen2.5-7b", "api_key": "sk-secret"},
        keyframe_rate=2.0,
        box_threshold=0.3,
        text_threshold=0.35,
    )
    return v


def test_settings_round_trip(qtbot, screenshot_dir: Path):
    values = edited_values()
    dlg = SettingsDialog(values)
    qtbot.addWidget(dlg)
    assert dlg.values() == values
    assert dlg.api_key.echoMode() == QLineEdit.EchoMode.Password
    assert redacted(values)["llm"]["api_key"] == "***" and values["llm"]["api_key"] == "sk-secret"
    dlg.show()
    qtbot.waitExposed(dlg)
    dlg.grab().save(str(screenshot_dir / "settings_dialog.png"))
    dlg.accept()
    assert dlg.result() == QDialog.DialogCode.Accepted


def test_settings_validation_refuses_ok_with_clear_messages(qtbot):
    dlg = SettingsDialog(default_settings())
    qtbot.addWidget(dlg)
    dlg.show()
    dlg.base_url.setText("ftp://models.example.com")
    for i in range(dlg.describers.count()):
        dlg.describers.item(i).setCheckState(Qt.CheckState.Unchecked)
    dlg.keyframe_rate.setValue(0.0)
    dlg.device.setCurrentText("gpu")
    dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    assert dlg.isVisible() and dlg.result() != QDialog.DialogCode.Accepted
    text = dlg.error_label.text()
    assert "LLM base URL 'ftp://models.example.com' must start with http:// or https://" in text
    assert "at least one audio describer" in text
    assert "Keyframe rate 0 must be above 0" in text
    assert "Device 'gpu' is not valid" in text
    dlg.base_url.setText("https://models.example.com/v1")
    dlg.describers.item(0).setCheckState(Qt.CheckState.Checked)
    dlg.keyframe_rate.setValue(1.0)
    dlg.device.setCurrentText("cpu")
    dlg.buttons.button(dlg.buttons.StandardButton.Ok).click()
    assert dlg.result() == QDialog.DialogCode.Accepted and dlg.error_label.text() == ""


def test_choosing_a_profile_fills_the_stages_and_keeps_the_endpoint(qtbot):
    dlg = SettingsDialog(edited_values())
    qtbot.addWidget(dlg)
    assert dlg.profile.findText("tiny-random") < 0  # the test-only profile is not offered
    name = next(n for n in ("sam3", "offline", "default") if n != edited_values()["profile"])
    dlg.profile.setCurrentText(name)
    v = dlg.values()
    profile = default_settings(name)
    for key in ("segmenter", "point_segmenter", "translator", "describers", "box_threshold"):
        assert v[key] == profile[key], key
    assert v["llm"]["base_url"] == "http://127.0.0.1:8000/v1" and v["llm"]["api_key"] == "sk-secret"


def test_test_only_stages_are_not_offered_but_kept(qtbot):
    dlg = SettingsDialog(default_settings())
    qtbot.addWidget(dlg)
    offered = [dlg.describers.item(i).text() for i in range(dlg.describers.count())]
    assert {"ast", "whisper", "clap"} <= set(offered) and "fixed" not in offered
    assert dlg.segmenter.findText("color-box") < 0
    values = {**default_settings(), "describers": ["fixed"], "segmenter": "color-box"}
    dlg.set_values(values)
    assert dlg.values()["describers"] == ["fixed"] and dlg.values()["segmenter"] == "color-box"
    assert dlg.validate() == []


def test_pipeline_config_applies_the_settings():
    values = default_settings("default")
    values.update(
        box_threshold=0.4, text_threshold=0.3, keyframe_rate=2.0, device="cpu", describers=["whisper"]
    )
    cfg = pipeline_config(values)
    assert [d.name for d in cfg.describers] == ["whisper"]
    assert cfg.describers[0].params["model"] == "whisper-small"  # the profile's parameters stay
    assert cfg.segmenter.params["box_threshold"] == 0.4 and cfg.segmenter.params["text_threshold"] == 0.3
    assert cfg.keyframe_rate == 2.0 and cfg.device == "cpu"
    assert cfg.translator.name == "offline"  # no LLM endpoint set: the profile's fallback
    values["llm"] = {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "k"}
    cfg = pipeline_config(values)
    assert cfg.translator.name == "openai" and cfg.translator.params["base_url"] == "http://127.0.0.1:9/v1"
    assert "api_key" not in str(cfg.to_dict())
    values.update(segmenter="color-box", point_segmenter=None)
    cfg = pipeline_config(values)
    assert cfg.segmenter.name == "color-box" and cfg.segmenter.params == {}  # no thresholds it cannot take
    assert cfg.point_segmenter is None
    assert validate_settings(values) == []


# ---------------------------------------------------------------- model download


class _Files(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    delay = 0.0  # seconds per 64 KiB piece (slow server for the cancel test)
    ranges: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server API)
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        rng = self.headers.get("Range")
        if rng:
            _Files.ranges.append(rng)
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        try:
            for i in range(start, len(data), 1 << 16):
                self.wfile.write(data[i : i + (1 << 16)])
                if self.delay:
                    time.sleep(self.delay)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


@pytest.fixture
def model_server(tmp_path, monkeypatch):
    """Two registered models served from 127.0.0.1; registry and cache in tmp_path."""
    rng = np.random.default_rng(0)
    big, small = rng.bytes(3 << 20), rng.bytes(200_000)
    _Files.files = {"/w.bin": big, "/vocab.txt": small}
    _Files.delay, _Files.ranges = 0.0, []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    toml = f"""
[models.test-weights]
kind = "segmenter"
family = "sam"
source = "url"
entry = "w.bin"
size_mb = 3.1
license = "Apache-2.0"
description = "random bytes standing in for weights"
files = [{{ path = "w.bin", url = "{url}/w.bin", sha256 = "{hashlib.sha256(big).hexdigest()}", size = {len(big)} }}]

[models.test-vocab]
kind = "embedder"
family = "sentence-transformers"
source = "url"
license = "MIT"
files = [{{ path = "vocab.txt", url = "{url}/vocab.txt", sha256 = "{hashlib.sha256(small).hexdigest()}", size = {len(small)} }}]
"""
    (tmp_path / "models.toml").write_text(toml)
    monkeypatch.setenv("AVS_STUDIO_MODELS", str(tmp_path / "models.toml"))
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("AVS_STUDIO_OFFLINE", raising=False)
    yield {"big": big, "small": small, "cache": tmp_path / "cache"}
    server.shutdown()
    server.server_close()


def test_model_dialog_downloads_with_progress(qtbot, model_server, screenshot_dir: Path):
    names = missing_models(["test-weights", "test-vocab"])
    assert names == ["test-weights", "test-vocab"]
    dlg = ModelDownloadDialog(names)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    assert dlg.table.item(0, 1).text() == "3.1 MB" and dlg.table.item(0, 2).text() == "Apache-2.0"
    assert dlg.table.item(1, 1).text() == "200.0 KB" and dlg.table.item(1, 3).text() == "1 of 1"
    dlg.grab().save(str(screenshot_dir / "model_download_dialog.png"))
    seen: list[int] = []
    dlg.total_bar.valueChanged.connect(seen.append)
    done: list[str] = []
    dlg.modelDone.connect(lambda name, path: done.append(name))
    with qtbot.waitSignal(dlg.allDone, timeout=20000) as sig:
        dlg.download_button.click()
    assert sig.args == [True] and done == names and dlg.errors == {}
    assert dlg.paths["test-weights"] == model_server["cache"] / "test-weights" / "w.bin"
    assert dlg.paths["test-weights"].read_bytes() == model_server["big"]
    assert (model_server["cache"] / "test-vocab" / "vocab.txt").read_bytes() == model_server["small"]
    assert seen == sorted(seen) and len(seen) >= 3 and dlg.total_bar.value() == 1000
    assert all(bar.value() == 1000 and bar.format() == "done" for bar in dlg.bars)
    assert missing_models(names) == []
    dlg.grab().save(str(screenshot_dir / "model_download_dialog_done.png"))


def test_model_dialog_cancel_keeps_the_part_and_resumes(qtbot, model_server):
    _Files.delay = 0.02  # 3 MiB at 64 KiB / 20 ms: about a second
    dlg = ModelDownloadDialog(["test-weights", "test-vocab"])
    qtbot.addWidget(dlg)
    dlg.show()
    with qtbot.waitSignal(dlg.allDone, timeout=20000) as sig:
        dlg.start()
        qtbot.waitUntil(lambda: dlg.bars[0].value() > 0, timeout=10000)
        dlg.cancel_button.click()  # "Cancel" while running
    assert sig.args == [False]
    part = model_server["cache"] / "test-weights" / "w.bin.part"
    assert part.is_file() and 0 < part.stat().st_size < len(model_server["big"])
    assert not (model_server["cache"] / "test-weights" / "w.bin").exists()
    assert not (model_server["cache"] / "test-vocab").exists()  # never started
    assert "cancelled" in dlg.bars[0].format() and dlg.download_button.text() == "Resume"
    have = part.stat().st_size
    _Files.delay = 0.0
    with qtbot.waitSignal(dlg.allDone, timeout=20000) as sig:
        dlg.download_button.click()
    assert sig.args == [True]
    assert _Files.ranges == [f"bytes={have}-"]  # resumed, not downloaded again
    assert (model_server["cache"] / "test-weights" / "w.bin").read_bytes() == model_server["big"]


def test_model_dialog_offline_offers_import_not_download(
    qtbot, model_server, monkeypatch, screenshot_dir: Path
):
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    dlg = ModelDownloadDialog(["test-weights", "test-vocab"])
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    assert not dlg.download_button.isVisible() and dlg.import_dir_button.isEnabled()
    intro = dlg.findChildren(QLabel)[0].text()
    assert str(model_server["cache"]) in intro and "AVS_STUDIO_OFFLINE is set" in intro
    assert "avs-studio models import PATH" in dlg.help.text() and dlg.table.item(0, 1).text() == "3.1 MB"
    dlg.start()  # a download that cannot work is not even tried
    assert not dlg.is_running() and dlg.errors == {}
    dlg.grab().save(str(screenshot_dir / "model_download_dialog_offline.png"))
    usb = model_server["cache"].parent / "usb"
    usb.mkdir()
    (usb / "w.bin").write_bytes(model_server["big"])
    with qtbot.waitSignal(dlg.allDone, timeout=10000):
        dlg.import_path(usb / "w.bin")
    assert dlg.paths["test-weights"].read_bytes() == model_server["big"] and dlg.bars[0].format() == "done"
    assert "imported test-weights" in dlg.message.text()
    (usb / "vocab.txt").write_bytes(b"not the vocabulary")
    with qtbot.waitSignal(dlg.allDone, timeout=10000) as sig:
        dlg.import_path(usb / "vocab.txt")
    assert sig.args == [False] and "nothing was imported" in dlg.error_box.toPlainText()
    assert not (model_server["cache"] / "test-vocab" / "vocab.txt").exists()


def test_model_dialog_unverified_files_need_the_box(qtbot, model_server, monkeypatch):
    toml = Path(os.environ["AVS_STUDIO_MODELS"])
    digest = hashlib.sha256(model_server["small"]).hexdigest()
    toml.write_text(toml.read_text().replace(f'sha256 = "{digest}"', f'published = "{digest}"'))
    dlg = ModelDownloadDialog(["test-vocab"])
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.allow_unverified.isVisible() and not dlg.download_button.isEnabled()
    dlg.allow_unverified.setChecked(True)
    assert dlg.download_button.isEnabled()
    with qtbot.waitSignal(dlg.allDone, timeout=10000) as sig:
        dlg.download_button.click()
    assert sig.args == [True] and (model_server["cache"] / "test-vocab" / "vocab.txt").is_file()


# ---------------------------------------------------------------- shortcuts

DEFAULTS = {"undo": "Ctrl+Z", "redo": "Ctrl+Shift+Z", "play": "Space", "accept": "A", "reject": "R"}
TEXTS = {
    "undo": "&Undo",
    "redo": "&Redo",
    "play": "&Play / pause",
    "accept": "&Accept object",
    "reject": "&Reject object",
}


def make_actions(parent) -> dict[str, QAction]:
    out = {}
    for aid, key in DEFAULTS.items():
        a = QAction(TEXTS[aid], parent)
        a.setShortcut(QKeySequence(key))
        a.setStatusTip(f"does {aid}")
        out[aid] = a
    return out


def test_shortcut_conflict_is_refused_with_a_message(qtbot):
    editor = ShortcutEditor(make_actions(None), DEFAULTS)
    qtbot.addWidget(editor)
    actions = editor.actions
    msg = editor.set_key("accept", "Ctrl+Z")
    assert msg is not None and "“Accept object” and “Undo”" in msg and "Ctrl+Z" in msg
    assert editor.message.text() == msg and "d03838" in editor.message.styleSheet()
    assert editor.mapping()["accept"] == "A"
    assert editor.set_key("accept", "y") is None and editor.mapping()["accept"] == "Y"
    assert actions["accept"].shortcut().toString() == "A"  # applied only on OK
    editor.accept()
    assert actions["accept"].shortcut().toString() == "Y"
    assert find_conflicts({"a": "Ctrl+Z", "b": "ctrl+z", "c": ""}) == {"Ctrl+Z": ["a", "b"]}
    with pytest.raises(ShortcutConflict, match="Undo"):
        apply_shortcuts(actions, {"redo": "Ctrl+Z"})
    assert actions["redo"].shortcut().toString() == "Ctrl+Shift+Z"  # nothing applied


def test_shortcut_editor_keyboard_edit_reset_and_persistence(qtbot, tmp_path, screenshot_dir: Path):
    from PySide6.QtCore import QSettings

    from avs_studio.gui.actions import load_keys, save_keys

    editor = ShortcutEditor(make_actions(None), DEFAULTS)
    qtbot.addWidget(editor)
    editor.show()
    qtbot.waitExposed(editor)
    editor.table.selectRow(list(DEFAULTS).index("reject"))
    with qtbot.waitSignal(editor.key_edit.editingFinished, timeout=5000):
        QTest.keyClick(editor.key_edit, Qt.Key.Key_X, Qt.KeyboardModifier.ControlModifier)
    assert editor.mapping()["reject"] == "Ctrl+X"
    row = list(DEFAULTS).index("reject")
    assert editor.table.item(row, 2).text() == QKeySequence("Ctrl+X").toString(
        QKeySequence.SequenceFormat.NativeText
    )
    editor.grab().save(str(screenshot_dir / "shortcut_editor.png"))
    editor.accept()
    # kept where the window keeps them (the user's QSettings), read back by a fresh start
    settings = QSettings(str(tmp_path / "keys.ini"), QSettings.Format.IniFormat)
    for aid, key in editor.mapping().items():
        save_keys(settings, aid, [QKeySequence(key)])
    again_settings = QSettings(str(tmp_path / "keys.ini"), QSettings.Format.IniFormat)
    stored = {aid: load_keys(again_settings, aid)[0].toString() for aid in DEFAULTS}
    fresh = make_actions(None)
    changed = apply_shortcuts(fresh, stored)
    assert changed == ["reject"] and fresh["reject"].shortcut().toString() == "Ctrl+X"
    again = ShortcutEditor(fresh, DEFAULTS)
    qtbot.addWidget(again)
    assert again.mapping()["reject"] == "Ctrl+X"
    again.reset_defaults()
    assert again.mapping() == DEFAULTS


def test_shortcut_list_is_read_only(qtbot):
    actions = make_actions(None)
    dlg = ShortcutListDialog(actions)
    qtbot.addWidget(dlg)
    rows = {dlg.table.item(r, 0).text(): dlg.table.item(r, 1).text() for r in range(dlg.table.rowCount())}
    native = QKeySequence.SequenceFormat.NativeText
    assert rows["Undo"] == QKeySequence("Ctrl+Z").toString(native) and rows["Play / pause"] == "Space"
    assert not dlg.table.item(0, 1).flags() & Qt.ItemFlag.ItemIsEditable
