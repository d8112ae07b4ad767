"""The pipeline's settings from the window: Annotate ▸ Config profile, Edit ▸ Settings…, the model
downloads, and the offer to download a model a task found missing.

The project keeps the settings dialog's dict (project setting ``avs_studio.settings.PIPELINE``); the
inference worker gets the PipelineConfig built from it, and the session the profile's clip length.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QMenu, QWidget

from avs_studio.gui.statusbar import StatusBar
from avs_studio.gui.worker import InferenceWorker
from avs_studio.jobs.clips import clip_length
from avs_studio.session import Controller
from avs_studio.session.proposal_controller import profile_name
from avs_studio.settings import PIPELINE as SETTINGS_KEY


def available_profiles() -> list[str]:
    """Config profile names offered in Annotate ▸ Config profile (not the test-only ones)."""
    from avs_studio.openavs import user_profiles

    return user_profiles()


def config_models(cfg: Any) -> list[str]:
    """Registry names of the models a PipelineConfig uses (what the download dialog fetches)."""
    from avs_studio.openavs.weights import config_models as names

    return list(names(cfg))


class PipelineMenu(QObject):
    # (the task's message, model names, the missing models, why no download can work): back from the probe
    _probed = Signal(object)

    def __init__(
        self,
        window: QWidget,
        writes: Controller,
        worker: InferenceWorker,
        status: StatusBar,
        show_error: Callable[..., None],
        note_error: Callable[[str], None],
        ask: bool,
        expect_error: Callable[[str], None] | None = None,
    ) -> None:
        """``show_error(title, message, buttons=())`` reports a problem; ``note_error(message)`` only
        records one; ``expect_error(message)``: a fuller report of that problem is on its way."""
        super().__init__(window)
        self.window, self.writes, self.worker, self.status = window, writes, worker, status
        self.session = writes.session
        self.show_error, self.note_error, self.ask = show_error, note_error, ask
        self.expect_error = expect_error or (lambda _message: None)
        self.menu: QMenu | None = None
        self.group = QActionGroup(self)
        self.dialog: Any = None  # the settings or download dialog last opened
        worker.profile_changed.connect(self._profile_changed)
        self._probed.connect(self._show_missing)

    # ------------------------------------------------------------------ Annotate ▸ Config profile
    def build(self, parent: QMenu) -> QMenu:
        self.menu = parent.addMenu("Config &profile")
        self.menu.aboutToShow.connect(self.fill)
        self.fill()
        return self.menu

    def fill(self) -> None:
        menu = self.menu
        if menu is None:
            return
        menu.clear()
        try:
            names = available_profiles()
        except Exception as exc:  # openavs not importable: say why instead of an empty menu
            menu.addAction(f"(profiles unavailable: {exc})").setEnabled(False)
            return
        current = profile_name(self.worker.profile)
        for name in names:
            action = QAction(name, self.group)
            action.setCheckable(True)
            action.setChecked(name == current)
            action.triggered.connect(lambda _c=False, n=name: self.set_profile(n))
            menu.addAction(action)

    def _profile_changed(self) -> None:
        try:
            self.session.clip_keyframes = clip_length(self.worker.profile)
        except Exception:  # noqa: BLE001  (a broken profile is reported where it is used)
            self.session.clip_keyframes = clip_length()

    # ------------------------------------------------------------------ settings
    def settings(self) -> dict[str, Any]:
        """The project's pipeline settings (the settings dialog's dict), default profile if none."""
        from avs_studio.gui.settings_dialog import default_settings

        project = self.session.project
        values = project.store.get_setting(SETTINGS_KEY) if project else None
        return dict(values) if values else default_settings("default")

    def load(self) -> None:
        """Give the worker the project's pipeline settings (a bad setting is reported, defaults used)."""
        from avs_studio.gui.settings_dialog import pipeline_config

        project = self.session.project
        values = project.store.get_setting(SETTINGS_KEY) if project else None
        if not values:
            self.worker.set_profile("default")
            return
        try:
            self.worker.set_profile(pipeline_config(values))
        except Exception as exc:  # ConfigError names the setting
            self.worker.set_profile("default")
            self.show_error(
                "The project's pipeline settings are invalid; using the default profile", str(exc)
            )

    def apply(self, values: dict[str, Any]) -> None:
        """Use and store ``values`` (settings dialog or profile menu)."""
        from avs_studio.gui.settings_dialog import pipeline_config

        try:
            cfg = pipeline_config(values)
        except Exception as exc:
            self.show_error("These pipeline settings cannot be used", str(exc))
            return
        self.worker.set_profile(cfg)
        self.status.set_models("models: not loaded yet")
        if self.session.project is not None:
            store = self.session.store
            self.writes.write(lambda: store.set_setting(SETTINGS_KEY, values), what="pipeline settings")
        self.status.showMessage(
            f"pipeline: profile {values.get('profile')}, device {values.get('device')}", 4000
        )

    def set_profile(self, name: str) -> None:
        """Annotate ▸ Config profile: start from a built-in profile (the LLM endpoint is kept)."""
        from avs_studio.gui.settings_dialog import default_settings

        values = default_settings(name)
        values["llm"] = self.settings().get("llm", values["llm"])
        self.apply(values)

    def show_settings(self) -> Any:
        from avs_studio.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.settings(), parent=self.window)
        dialog.accepted.connect(lambda: self.apply(dialog.values()))
        dialog.setModal(True)
        dialog.show()
        self.dialog = dialog
        return dialog

    # ------------------------------------------------------------------ model weights
    def download_models(self) -> Any:
        """Annotate ▸ Download models…: the models the pipeline settings need that are not cached."""
        from avs_studio.gui.model_dialog import missing_models
        from avs_studio.openavs import load_config

        try:
            names = config_models(load_config(self.worker.profile))
        except Exception as exc:
            self.show_error("Cannot list the models of the pipeline settings", str(exc))
            return None
        missing = missing_models(names)
        if not missing:
            self.status.showMessage(f"All models are downloaded ({', '.join(names) or 'none needed'})", 5000)
            return None
        return self.open_download(missing)

    def offer_download(self, model: str, message: str) -> None:
        """A task needed weights that are not cached: name every model the profile lacks, at once, with
        sizes and the cache folder, in the one problem dialog (pressing S twice does not stack dialogs);
        its button opens the model dialog, which offers a download only where one can work. Whether the
        model hosts answer is probed on a thread of its own (a network that drops packets costs seconds),
        so the window never waits for it."""
        from avs_studio.openavs import load_config
        from avs_studio.openavs.downloads import unreachable
        from avs_studio.openavs.model_import import missing_models
        from avs_studio.openavs.weights import get_spec, offline, offline_reason

        try:
            missing = missing_models([model, *config_models(load_config(self.worker.profile))])
        except Exception:  # the profile itself is broken: that error is shown elsewhere
            missing = []
        names = [m.name for m in missing] or [model]
        if offline():
            self._show_missing((message, names, missing, offline_reason()))
            return
        specs = [get_spec(n) for n in names]
        self.expect_error(message)  # the task's own error waits for the offer that covers it

        def probe() -> None:
            try:
                blocked = unreachable(specs)
            except Exception as exc:  # the offer must come whatever the probe meets
                blocked = f"the model hosts could not be checked: {exc}"
            try:
                self._probed.emit((message, names, missing, blocked))
            except RuntimeError:  # the window closed meanwhile
                pass

        threading.Thread(target=probe, name="model-hosts-probe", daemon=True).start()

    def _show_missing(self, found: tuple[str, list[str], list[Any], str]) -> None:
        from avs_studio.openavs.model_import import missing_text

        message, names, missing, blocked = found
        what = f"profile {profile_name(self.worker.profile)!r}"
        text = missing_text(missing, blocked, what) if missing else message
        if blocked:  # no download line where a download cannot work
            text = "\n".join(line for line in text.splitlines() if not line.startswith("Download them with"))
        self.status.showMessage(text.splitlines()[0], 15000)
        self.note_error(f"{message}\n{text}")
        button = "Import model files…" if blocked else "Download or import…"
        buttons = [(button, lambda: self.open_download(names))]
        self.show_error("Models not downloaded", text, buttons, covers=[message])

    def open_download(self, names: list[str]) -> Any:
        from avs_studio.gui.model_dialog import ModelDownloadDialog

        models: list[Any] = list(names)
        dialog = ModelDownloadDialog(models, parent=self.window)

        def all_done(ok: bool) -> None:
            if ok:
                self.status.showMessage("models downloaded", 5000)

        dialog.allDone.connect(all_done)
        dialog.show()
        self.dialog = dialog
        return dialog
