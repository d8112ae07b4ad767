"""The main window greys out what the install cannot do, with a tooltip naming the extra to install."""

from __future__ import annotations

import sys

from PySide6.QtGui import QAction

from tests.gui.conftest import close_window, open_window


def test_actions_of_a_missing_extra_are_disabled_with_the_pip_command(qtbot, video_project, gui_settings,
                                                                     monkeypatch, screenshot_dir):  # fmt: skip
    monkeypatch.setitem(sys.modules, "timm", None)  # as without the [train] extra
    window = open_window(qtbot, video_project, gui_settings)
    try:
        train = next(a for a in window.findChildren(QAction) if a.objectName() == "train_student")
        assert not train.isEnabled() and "pip install 'avs-studio[train]'" in train.toolTip()
        queue = window.action_table["next_uncertain"]  # ranks with a student: torch too
        assert not queue.isEnabled() and "pip install 'avs-studio[train]'" in queue.toolTip()
        assert window.action_table["run_clip"].isEnabled() and window.action_table["tool_sam"].isEnabled()
        window.train_menu.popup(window.mapToGlobal(window.rect().center()))
        qtbot.wait(50)
        window.train_menu.grab().save(str(screenshot_dir / "train_menu_missing_extra.png"))
        window.train_menu.hide()
    finally:
        close_window(qtbot, window)


def test_video_model_engines_need_the_models_extra(qtbot, video_project, gui_settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "segment_anything", None)  # as without the [models] extra
    window = open_window(qtbot, video_project, gui_settings)
    try:
        menu = window.propagation_engine_menu
        menu.aboutToShow.emit()
        assert menu.entries() == [("flow", True, True), ("sam2", False, False), ("sam3", False, False)]
        sam2 = menu.actions()[1]
        assert "pip install 'avs-studio[models]'" in sam2.toolTip()
        assert not window.action_table["run_clip"].isEnabled()  # proposals need the same extra
        assert window.action_table["propagate_all"].isEnabled()  # flow needs none
    finally:
        close_window(qtbot, window)


def test_download_models_offline_lists_every_missing_model_and_offers_no_download(
    qtbot, video_project, gui_settings, monkeypatch
):
    from avs_studio.openavs import load_config
    from avs_studio.openavs.weights import config_models

    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    window = open_window(qtbot, video_project, gui_settings)
    try:
        window.worker.set_profile("default")
        dialog = window.pipeline_menu.download_models()  # Annotate ▸ Download models…
        qtbot.addWidget(dialog)
        expected = config_models(load_config("default"))
        assert len(expected) >= 2 and [s.name for s in dialog.specs] == expected
        assert dialog.download_button.isHidden() and "avs-studio models import PATH" in dialog.help.text()
        dialog.close()
    finally:
        close_window(qtbot, window)


def test_the_missing_model_offer_never_waits_for_the_network(qtbot, video_project, gui_settings, monkeypatch):
    """Online but no host answers (packets dropped): the probe runs on its own thread, the window goes on,
    and the offer then names the unreachable host and offers an import, not a download."""
    import threading

    from avs_studio.openavs import downloads

    monkeypatch.delenv("AVS_STUDIO_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    started, release = threading.Event(), threading.Event()

    def slow_probe(specs, timeout=1.5):
        started.set()
        release.wait(30)  # as long as the test holds it: a synchronous caller would wait here too
        return "huggingface.co cannot be reached: timed out"

    monkeypatch.setattr(downloads, "unreachable", slow_probe)
    window = open_window(qtbot, video_project, gui_settings)
    try:
        window.pipeline_menu.offer_download("sam-vit-b", "model 'sam-vit-b' is not downloaded")
        assert started.wait(10) and not release.is_set()  # the call came back while the probe waits
        assert window.last_error is None or "sam-vit-b" not in window.last_error
        release.set()
        qtbot.waitUntil(lambda: "cannot be reached" in (window.last_error or ""), timeout=10000)
        assert "sam-vit-b" in window.last_error and "Download them with" not in window.last_error
    finally:
        release.set()
        close_window(qtbot, window)
