"""OpenAVS from the main window: run proposals as jobs, show their prompts, re-segment a frame."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtGui import QAction, QActionGroup

from avs_studio.gui.panels.prompt_panel import clip_for_frame, parse_clip_result
from avs_studio.gui.review import clip_range
from avs_studio.gui.worker import Priority

if TYPE_CHECKING:
    from avs_studio.gui.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object

SETTINGS_KEY = "pipeline"  # project setting: the settings dialog's dict (see settings_dialog.py)


def available_profiles() -> list[str]:
    """Config profile names offered in Annotate ▸ Config profile."""
    from avs_studio.openavs import profiles

    return profiles()


def config_models(cfg: Any) -> list[str]:
    """Registry names of the models a PipelineConfig uses (what the download dialog fetches)."""
    from avs_studio.openavs.weights import config_models as names

    return names(cfg)


def merge_proposals(objects: list[Any]) -> dict[str, tuple[np.ndarray, float]]:
    """ObjectProposals -> phrase -> (union mask, best box score): one object per phrase."""
    out: dict[str, tuple[np.ndarray, float]] = {}
    for p in objects:
        mask = np.asarray(p.mask, bool)
        if p.phrase in out:
            m, s = out[p.phrase]
            out[p.phrase] = (m | mask, max(s, float(p.box_score)))
        else:
            out[p.phrase] = (mask, float(p.box_score))
    return out


class ProposalsMixin(_Base):
    # ------------------------------------------------------------------ profile
    def _build_profile_menu(self, menu: Any) -> None:
        self.profile_menu = menu.addMenu("Config &profile")
        self.profile_group = QActionGroup(self)
        self.profile_menu.aboutToShow.connect(self._fill_profile_menu)
        self._fill_profile_menu()

    def _fill_profile_menu(self) -> None:
        self.profile_menu.clear()
        try:
            names = available_profiles()
        except Exception as exc:  # openavs not importable: say why instead of an empty menu
            self.profile_menu.addAction(f"(profiles unavailable: {exc})").setEnabled(False)
            return
        current = getattr(self.worker.profile, "profile", self.worker.profile)
        for name in names:
            action = QAction(name, self.profile_group)
            action.setCheckable(True)
            action.setChecked(name == current)
            action.triggered.connect(lambda _c=False, n=name: self.set_profile(n))
            self.profile_menu.addAction(action)

    def pipeline_settings(self) -> dict[str, Any]:
        """The project's pipeline settings (the settings dialog's dict), default profile if none."""
        from avs_studio.gui.settings_dialog import default_settings

        values = self.project.store.get_setting(SETTINGS_KEY) if self.project else None
        return dict(values) if values else default_settings("default")

    def _load_profile(self) -> None:
        """Give the worker the project's pipeline settings (a bad setting is reported, defaults used)."""
        from avs_studio.gui.settings_dialog import pipeline_config

        values = self.project.store.get_setting(SETTINGS_KEY) if self.project else None
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

    def apply_pipeline_settings(self, values: dict[str, Any]) -> None:
        """Use and store ``values`` (settings dialog or profile menu)."""
        from avs_studio.gui.settings_dialog import pipeline_config

        try:
            cfg = pipeline_config(values)
        except Exception as exc:
            self.show_error("These pipeline settings cannot be used", str(exc))
            return
        self.worker.set_profile(cfg)
        self.status.set_models("models: not loaded yet")
        if self.project is not None:
            store = self.project.store
            self.write(lambda: store.set_setting(SETTINGS_KEY, values), what="pipeline settings")
        self.status.showMessage(
            f"pipeline: profile {values.get('profile')}, device {values.get('device')}", 4000
        )

    def set_profile(self, name: str) -> None:
        """Annotate ▸ Config profile: start from a built-in profile (the LLM endpoint is kept)."""
        from avs_studio.gui.settings_dialog import default_settings

        values = default_settings(name)
        values["llm"] = self.pipeline_settings().get("llm", values["llm"])
        self.apply_pipeline_settings(values)

    def show_settings(self) -> Any:
        from avs_studio.gui.settings_dialog import SettingsDialog

        dialog = SettingsDialog(self.pipeline_settings(), parent=self)
        dialog.accepted.connect(lambda: self.apply_pipeline_settings(dialog.values()))
        dialog.setModal(True)
        dialog.show()
        self._settings_dialog = dialog
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
        return self._open_download(missing)

    def offer_download(self, model: str, message: str) -> None:
        """A task needed weights that are not cached: offer every model the profile lacks, at once."""
        from avs_studio.gui.model_dialog import missing_models
        from avs_studio.openavs import load_config

        self.status.showMessage(message, 15000)
        self.last_error = message
        try:
            names = missing_models([model, *config_models(load_config(self.worker.profile))])
        except Exception:  # the profile itself is broken: that error is shown elsewhere
            names = [model]
        if self.ask:
            from PySide6.QtWidgets import QMessageBox

            what = ", ".join(names)
            answer = QMessageBox.question(
                self, "Models not downloaded", f"{message}\n\nMissing: {what}. Open the model dialog?"
            )
            if answer == QMessageBox.StandardButton.Yes:
                self._open_download(names)

    def _open_download(self, names: list[str]) -> Any:
        from avs_studio.gui.model_dialog import ModelDownloadDialog

        dialog = ModelDownloadDialog(names, parent=self)
        dialog.allDone.connect(lambda ok: ok and self.status.showMessage("models downloaded", 5000))
        dialog.show()
        self._download_dialog = dialog
        return dialog

    # ------------------------------------------------------------------ prompt panel
    def _update_prompt_panel(self, force: bool = False) -> None:
        if self.project is None or self.video is None:
            self.prompt_panel.set_clip(None, 1.0, 0)
            return
        if force or getattr(self, "_clip_rows_video", None) != self.video.id:
            self._clip_rows = self.project.store.clip_results(self.video.id)
            self._clip_rows_video = self.video.id
        clip = clip_range(self.frame, self.video.fps, self.video.frame_count)
        row = clip_for_frame(self._clip_rows, self.frame, clip)
        shown = getattr(self, "_clip_row_shown", None)
        if force or row is None or shown is None or row.id != shown:
            self._clip_row_shown = row.id if row is not None else None
            if row is None and shown is None and not force:
                return
            self.prompt_panel.set_clip(parse_clip_result(row) if row else None, self.video.fps, self.frame)
        else:
            self.prompt_panel.highlight(self.frame)

    # ------------------------------------------------------------------ re-segment one frame
    def rerun_prompt(self) -> None:
        """T: segment the shown frame again with its phrases (as edited in the prompt panel)."""
        phrases = self.prompt_panel.phrases(self.frame)
        if phrases is None:
            self.status.showMessage(
                "This frame has no text prompt yet: run OpenAVS on the clip first (Annotate menu)", 5000
            )
            return
        self.resegment_frame(self.frame, phrases)

    def resegment_frame(self, frame: int, phrases: list[str]) -> None:
        """Run the text segmenter on ``frame`` with ``phrases`` (worker) and store the proposals."""
        if self.project is None or self.video is None:
            return
        video, store = self.video, self.project.store
        image = self.canvas.image if frame == self.canvas.frame_index else None
        reader_of = self.frames.reader
        key = self.sam_key(video.id, frame)

        def run() -> Any:
            img = image if image is not None else reader_of(video.path).frame(frame)
            return self.worker.pipeline().segment_frame(img, phrases, key=key) if phrases else []

        def store_proposals(objects: list[Any]) -> int:
            merged = merge_proposals(objects)
            existing = {o.label: o.id for o in store.objects(video.id)}
            mine = {r.object_id: r for r in store.annotations(video_id=video.id, frame=frame)}
            written = 0
            for phrase, (mask, score) in merged.items():
                oid = existing.get(phrase)
                if oid is None:
                    oid = store.add_object(video.id, phrase)
                row = mine.get(oid)
                if row is not None and row.status != "proposed":
                    continue  # a person's edit or review wins over a new proposal
                store.put_annotation(
                    video.id, frame, oid, mask, source="proposal", status="proposed", score=score
                )
                written += 1
            for oid, row in mine.items():  # old proposals of phrases no longer asked for
                label = next((lab for lab, i in existing.items() if i == oid), None)
                if row.status == "proposed" and row.source == "proposal" and label not in merged:
                    store.delete_annotation(row.id)
            return written

        def done(objects: Any) -> None:
            self.write(
                lambda: store_proposals(list(objects or [])),
                lambda n: (
                    self.reload(),
                    self.status.showMessage(f"frame {frame}: {n} proposal(s) stored", 4000),
                ),
                "proposal",
            )

        def failed(message: str) -> None:
            self.show_error("Re-segmenting the frame failed", message)

        self.status.showMessage(f"segmenting frame {frame} with: {', '.join(phrases) or '(nothing)'}…", 5000)
        self.worker.submit(run, Priority.INTERACTIVE, done, failed)

    # ------------------------------------------------------------------ proposal jobs
    def run_selected_videos(self) -> None:
        ids = self.project_panel.selected_video_ids()
        if ids:
            self.run_openavs(ids)

    def run_current_clip(self) -> int | None:
        """Propose the keyframes of the 5-s clip holding this frame (one job; jobs.propose's frames=)."""
        if self.project is None or self.video is None:
            return None
        from avs_studio.jobs.propose import propose

        first, end = clip_range(self.frame, self.video.fps, self.video.frame_count)
        project, worker, vid = self.project, self.worker, self.video.id

        def job(progress: Any, cancel: Any, on_clip: Any) -> Any:
            report = propose(
                project, [vid], worker.pipeline(), frames=range(first, end),
                progress=progress, cancel=cancel, on_clip=on_clip,
            )  # fmt: skip
            if report.errors:
                raise RuntimeError("; ".join(report.errors))
            return report.keyframes

        fps = self.video.fps or 1.0
        return worker.start_job(f"OpenAVS on {self.video.name} {first / fps:.0f}–{end / fps:.0f} s", job)

    def run_openavs(self, video_ids: list[int]) -> int | None:
        """Propose masks for whole videos on the inference worker; each clip shows up as it is stored."""
        if self.project is None:
            return None
        from avs_studio.jobs.propose import propose

        project, worker = self.project, self.worker

        def job(progress: Any, cancel: Any, on_clip: Any) -> Any:
            report = propose(
                project, video_ids, worker.pipeline(), progress=progress, cancel=cancel, on_clip=on_clip
            )
            if report.errors:
                raise RuntimeError("; ".join(report.errors))
            return report

        name = getattr(worker.profile, "profile", worker.profile)
        return worker.start_job(f"OpenAVS ({name}) on {len(video_ids)} video(s)", job)

    def _on_clip_done(self, _job_id: int, payload: Any) -> None:
        """A clip's proposals are stored (jobs.propose's on_clip(video_id, frames)): refresh what shows them."""
        vid = payload[0] if isinstance(payload, tuple) and payload else None
        if self.video is not None and (vid is None or vid == self.video.id):
            self.reload(all_frames=True)
            self._update_prompt_panel(force=True)
        elif vid is not None:
            self.project_panel.refresh_video(int(vid))

    def _on_job_finished(self, job_id: int, state: str, message: str) -> None:
        self.jobs_panel.finish_job(job_id, state, message)
        if state == "failed":
            self.show_error("A job failed", message)
        self.project_panel.refresh()  # a job may have changed any video's counts
        if self.video is not None:
            self.reload(all_frames=True)
            self._update_prompt_panel(force=True)

    def _cancel_job(self, job_id: int) -> None:
        self.worker.cancel_job(job_id)
        self.io.cancel_job(job_id)
