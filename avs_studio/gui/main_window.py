"""The main annotation window: layout, menus, project and video loading, navigation."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from avs_studio import __version__
from avs_studio.gui.actions import ActionTable
from avs_studio.gui.availability import grey_out_unavailable
from avs_studio.gui.canvas import Canvas
from avs_studio.gui.editing import EditingMixin
from avs_studio.gui.frames import FrameLoader
from avs_studio.gui.navigation import NavigationMixin
from avs_studio.gui.panels import JobsPanel, ObjectPanel, ProjectPanel, PromptPanel
from avs_studio.gui.playback import PlaybackController
from avs_studio.gui.proposals import ProposalsMixin
from avs_studio.gui.reviewing import ReviewMixin
from avs_studio.gui.shortcuts import ShortcutEditor, ShortcutListDialog
from avs_studio.gui.statusbar import StatusBar
from avs_studio.gui.timeline import TimelineWidget
from avs_studio.gui.tools import TOOLS
from avs_studio.gui.training_dialog import install_train_menu
from avs_studio.gui.worker import InferenceWorker, JobRunner, Priority, TaskRunner
from avs_studio.jobs import Project, add_videos, init_project, is_project, open_project
from avs_studio.store import AnnotationRow, ObjectRow, VideoRow

GIL_SWITCH_S = 0.001
DEVICE_PROBE_MS = 500
VIDEO_FILTER = "Videos (*.mp4 *.mkv *.mov *.avi *.webm *.m4v);;All files (*)"


class MainWindow(NavigationMixin, EditingMixin, ReviewMixin, ProposalsMixin, QMainWindow):
    """One project at a time; frames decode on a thread, edits are stored by the writer thread.

    The window owns the project it shows: it closes it when another project is opened or on close.
    ``ask=False`` never opens a question box (tests, scripted use); errors then go to the status bar
    and ``last_error``.

    Threads: ``frames`` (decoding), ``media`` (frame times, audio, waveform), ``writer`` (every store
    write, in order), ``worker`` (the models: SAM clicks, re-segmenting, proposals), ``io`` (adding
    videos, import, export).
    """

    frame_shown = Signal(int)  # frame index now on the canvas (annotations loaded)
    media_loaded = Signal(int)  # video id whose frame times, audio and waveform are now in the timeline
    project_changed = Signal()

    def __init__(
        self,
        project: Project | None = None,
        *,
        settings: QSettings | None = None,
        worker: InferenceWorker | None = None,
        ask: bool = True,
    ) -> None:
        super().__init__()
        # The worker threads run Python between their C calls; a short GIL switch interval lets the GUI
        # thread in promptly (default 5 ms), so painting never waits behind a model's Python code.
        sys.setswitchinterval(GIL_SWITCH_S)
        self.setWindowTitle("AVS Studio")
        self.settings = settings if settings is not None else QSettings()
        self.ask = ask  # False: never block on a question dialog (tests)
        self.project: Project | None = None
        self.video: VideoRow | None = None
        self.frame = 0  # the frame asked for; canvas.frame_index is the one shown
        self.keyframes: list[int] = []
        self._keyframe_set: set[int] = set()
        self.states: list[str] = []
        self.objects: list[ObjectRow] = []
        self.frame_annotations: dict[int | None, AnnotationRow] = {}
        self.selected_object: int | None = None
        self.brush_radius = float(self.settings.value("brush_radius", 8.0))
        # (video, frame, object) -> mask queued on the writer; shown and edited until it is stored
        self._pending: dict[tuple[int, int, int], np.ndarray] = {}
        self.write_failed = False  # the last write was refused: the status bar says so until one succeeds

        # threads: frames, DB writes, inference (models), file jobs
        self.frames = FrameLoader(parent=self)
        self.media = TaskRunner("media", self)
        self.queries = TaskRunner("queries", self)  # project panel summaries
        self.writer = TaskRunner("writer", self)
        self.worker = worker if worker is not None else InferenceWorker(parent=self)
        self.io = JobRunner("io", self)

        # widgets
        self.canvas = Canvas()
        self.timeline = TimelineWidget()
        self.playback = PlaybackController(self)
        self.project_panel = ProjectPanel(runner=self.queries)
        self.object_panel = ObjectPanel()
        self.prompt_panel = PromptPanel()
        self.jobs_panel = JobsPanel()
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self._build_layout()

        self.actions = ActionTable(self, self.settings)
        self.tools = {name: cls(self) for name, cls in TOOLS.items()}
        self._build_menus()
        install_train_menu(self)
        grey_out_unavailable(self)  # actions whose pip extra is not installed (avs_studio.extras)
        self._panel_timer = QTimer(self)  # coalesces project panel refreshes after edits
        self._panel_timer.setSingleShot(True)
        self._panel_timer.setInterval(400)
        self._panel_timer.timeout.connect(self._refresh_panel)
        self._connect()
        self.resize(1400, 860)
        self.resizeDocks([self.jobs_dock], [110], Qt.Orientation.Vertical)
        if project is not None:
            self.set_project(project)
        # which device the pipeline settings ask for (the real one shows when a model loads)
        QTimer.singleShot(DEVICE_PROBE_MS, self, self._probe_device)

    # ------------------------------------------------------------------ layout
    def _build_layout(self) -> None:
        right = QTabWidget()
        right.addTab(self.object_panel, "Objects")
        right.addTab(self.prompt_panel, "Prompts")
        self.right_tabs = right
        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.project_panel)
        top.addWidget(self.canvas)
        top.addWidget(right)
        top.setStretchFactor(1, 1)
        top.setSizes([340, 760, 340])
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(top, 1)
        layout.addWidget(self.timeline)
        self.setCentralWidget(central)
        self.jobs_dock = QDockWidget("Jobs", self)
        self.jobs_dock.setObjectName("jobs_dock")
        self.jobs_dock.setWidget(self.jobs_panel)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.jobs_dock)

    def _build_menus(self) -> None:
        a = self.actions
        menus: dict[str, Any] = {}
        for name in ("File", "Edit", "Navigate", "Review", "Tools", "Annotate", "View", "Help"):
            menus[name] = self.menuBar().addMenu(f"&{name}")
        self.menus = menus
        for spec in a.specs.values():
            if spec.menu and not spec.id.startswith("select_"):
                menus[spec.menu].addAction(a[spec.id])
            self.addAction(a[spec.id])  # shortcuts work wherever the focus is in the window
        select = menus["Review"].addMenu("Select object")
        for i in range(1, 10):
            select.addAction(a[f"select_{i}"])
        self.tool_group = QActionGroup(self)
        for name in TOOLS:
            self.tool_group.addAction(a[f"tool_{name}"])
        self.tool_group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
        self._add_optional_file_jobs(menus["File"])
        self._build_profile_menu(menus["Annotate"])
        menus["View"].addSeparator()
        menus["View"].addAction(self.jobs_dock.toggleViewAction())
        a["show_jobs"].setVisible(False)  # the dock's own toggle action takes its place
        self.jobs_dock.toggleViewAction().setShortcut(a["show_jobs"].shortcut())

    def _add_optional_file_jobs(self, menu: Any) -> None:
        """Import/Export entries only when the datasets jobs exist."""
        import importlib.util

        for module, text, slot in (
            ("avs_studio.jobs.importing", "Import AVSBench…", self.import_dataset),
            ("avs_studio.jobs.exporting", "Export…", self.export_dataset),
        ):
            if importlib.util.find_spec(module) is not None:
                action = QAction(text, self)
                action.triggered.connect(slot)
                menu.insertAction(self.actions["quit"], action)

    def _connect(self) -> None:
        a = self.actions
        a.connect("new_project", self.new_project_dialog)
        a.connect("open_project", self.open_project_dialog)
        a.connect("add_videos", self.add_videos_dialog)
        a.connect("quit", self.close)
        a.connect("undo", self.undo)
        a.connect("redo", self.redo)
        a.connect("settings", self.show_settings)
        a.connect("edit_shortcuts", self.edit_shortcuts)
        a.connect("download_models", self.download_models)
        a.connect("play", self.toggle_play)
        a.connect("play_second", self.play_second)
        a.connect("slower", lambda: self.change_speed(-1))
        a.connect("faster", lambda: self.change_speed(+1))
        a["loop_clip"].toggled.connect(self.set_loop_clip)
        a.connect("prev_frame", lambda: self.step(-1))
        a.connect("next_frame", lambda: self.step(1))
        a.connect("back_second", lambda: self.step_seconds(-1))
        a.connect("forward_second", lambda: self.step_seconds(1))
        a.connect("prev_keyframe", lambda: self.step_keyframe(-1))
        a.connect("next_keyframe", lambda: self.step_keyframe(1))
        a.connect("next_review", self.next_review)
        a.connect("accept", lambda: self.review_selected("accepted"))
        a.connect("reject", lambda: self.review_selected("rejected"))
        a.connect("accept_clip", self.accept_clip)
        for name in TOOLS:
            a[f"tool_{name}"].toggled.connect(lambda on, n=name: self._tool_toggled(n, on))
        a.connect("brush_smaller", lambda: self.set_brush_radius(self.brush_radius / 1.25))
        a.connect("brush_larger", lambda: self.set_brush_radius(self.brush_radius * 1.25))
        a.connect("fill_holes", self.fill_holes)
        a.connect("copy_previous", self.copy_previous_keyframe)
        a.connect("rerun_prompt", self.rerun_prompt)
        a.connect("run_clip", self.run_current_clip)
        a.connect("run_videos", self.run_selected_videos)
        a.connect("mask_mode", self.cycle_mask_mode)
        a["spectrogram"].toggled.connect(self.timeline.show_spectrogram)
        a.connect("zoom_fit", self.canvas.zoom_fit)
        a.connect("zoom_in", lambda: self.canvas.zoom_by(1.25))
        a.connect("zoom_out", lambda: self.canvas.zoom_by(0.8))
        a.connect("shortcuts", self.show_shortcuts)
        a.connect("about", self.show_about)
        for i in range(1, 10):
            a.connect(f"select_{i}", lambda i=i: self.select_object_number(i))
        self.frames.frame_ready.connect(self._on_frame_ready)
        self.frames.failed.connect(lambda path, i, msg: self.show_error("Cannot show the frame", msg))
        self.timeline.seekRequested.connect(self.seek)
        self.playback.frameChanged.connect(self._on_play_frame)
        self.playback.notice.connect(lambda text: self.status.showMessage(text, 8000))
        self.canvas.space_tapped.connect(self._space_tapped)
        self.project_panel.video_selected.connect(self.open_video)
        self.object_panel.selected.connect(self._object_selected)
        self.object_panel.add_requested.connect(self.add_object)
        self.object_panel.rename_requested.connect(self.rename_object)
        self.object_panel.merge_requested.connect(self.merge_objects)
        self.object_panel.delete_requested.connect(self.delete_object)
        self.object_panel.flags_changed.connect(self.set_object_flags)
        self.prompt_panel.phrases_edited.connect(self.resegment_frame)
        self.writer.busy_changed.connect(self._on_writer_busy)
        for runner in (self.worker, self.io):
            runner.job_started.connect(self.jobs_panel.add_job)
            runner.job_progress.connect(self.jobs_panel.update_job)
            runner.job_finished.connect(self._on_job_finished)
        self.worker.job_clip.connect(self._on_clip_done)
        self.worker.models_changed.connect(self._on_models)
        self.worker.model_missing.connect(self.offer_download)
        self.jobs_panel.cancel_requested.connect(self._cancel_job)

    # ------------------------------------------------------------------ project
    def set_project(self, project: Project | None) -> None:
        """Show ``project`` (the window closes the previous one)."""
        old = self.project
        if old is not None and old is not project:
            self.wait_for_writes()
            self.worker.cancel_all()
            self.io.cancel_all()
            self.worker.submit(old.close, priority=99)  # after any cancelled job let go of it
        self.project = project
        self.video = None
        self.canvas.clear()
        self.setWindowTitle(f"AVS Studio — {project.dir.name}" if project else "AVS Studio")
        self.project_panel.set_project(project)
        if project is not None:
            self._load_profile()
            videos = project.store.videos()
            last = project.store.get_setting("gui.last_video")
            ids = [v.id for v in videos]
            if videos:
                self.open_video(last if last in ids else ids[0])
        self.project_changed.emit()

    def new_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "New project: choose an empty folder")
        if folder:
            self.open_path(folder, create=True)

    def open_project_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open project folder")
        if folder:
            self.open_path(folder)

    def open_path(self, folder: str | Path, create: bool = False) -> bool:
        """Open the project in ``folder``; a folder that is not a project is offered to become one."""
        path = Path(folder)
        try:
            if is_project(path):
                project = open_project(path)
            else:
                if not create and self.ask:
                    answer = QMessageBox.question(
                        self,
                        "Not a project",
                        f"{path} is not an AVS Studio project.\nCreate a new project in this folder?",
                    )
                    if answer != QMessageBox.StandardButton.Yes:
                        return False
                elif not create:
                    return False
                project = init_project(path)
        except Exception as exc:  # ProjectError, StoreError, OSError...: reported with the folder name
            self.show_error("Cannot open the project", f"{path}: {exc}")
            return False
        self.set_project(project)
        return True

    def add_videos_dialog(self) -> None:
        if self.project is None:
            return
        paths, _ = QFileDialog.getOpenFileNames(self, "Add videos", "", VIDEO_FILTER)
        if paths:
            self.add_video_files(paths)

    def add_video_files(self, paths: list[str], split: str | None = None) -> int:
        """Probe and add files on the io thread (a job with progress); the panel refreshes at the end."""
        project = self.project
        assert project is not None

        def job(progress: Any, cancel: Any, _on_clip: Any) -> Any:
            return add_videos(project, paths, split=split, progress=progress)

        return self.io.start_job(f"Add {len(paths)} video(s)", job, on_done=self._videos_added)

    def _videos_added(self, report: Any) -> None:
        self.project_panel.refresh()
        if report is not None and report.skipped:
            details = "\n".join(f"{p}: {why}" for p, why in report.skipped)
            self.show_error("Some files were not added", details)
        if self.video is None and report is not None and report.added:
            self.open_video(report.added[0][1])

    def import_dataset(self) -> None:
        from avs_studio.gui.file_jobs import import_dataset_dialog

        import_dataset_dialog(self)

    def export_dataset(self) -> None:
        from avs_studio.gui.file_jobs import export_dataset_dialog

        export_dataset_dialog(self)

    # ------------------------------------------------------------------ view
    def cycle_mask_mode(self) -> None:
        mode = self.canvas.cycle_mask_mode()
        self.status.showMessage(f"masks: {mode}", 2000)

    def show_shortcuts(self) -> None:
        dialog = ShortcutListDialog(self.actions.actions, self)
        dialog.setModal(False)
        dialog.show()
        self._shortcut_list = dialog

    def edit_shortcuts(self) -> ShortcutEditor:
        """The shortcut editor; on OK the keys apply at once and are kept (QSettings) across restarts."""
        defaults = {aid: spec.keys[0] if spec.keys else "" for aid, spec in self.actions.specs.items()}
        dialog = ShortcutEditor(self.actions.actions, defaults, parent=self)
        dialog.accepted.connect(lambda: self._keep_shortcuts(dialog.mapping()))
        dialog.setModal(True)
        dialog.show()
        self._shortcut_editor = dialog
        return dialog

    def _keep_shortcuts(self, mapping: dict[str, str]) -> None:
        for aid, key in mapping.items():
            if aid in self.actions.actions:
                self.actions.set_keys(aid, [key] if key else [])
        self.jobs_dock.toggleViewAction().setShortcut(self.actions["show_jobs"].shortcut())

    def show_about(self) -> None:
        QMessageBox.about(
            self,
            "About AVS Studio",
            f"AVS Studio {__version__}\nAnnotate audio-visual segmentation: hear it, see it, fix it.\n"
            "Proposals by OpenAVS (Chen et al., 2025).",
        )

    def show_error(self, title: str, message: str) -> None:
        self.status.showMessage(f"{title}: {message}", 10000)
        self.last_error = f"{title}: {message}"
        if self.ask:
            QMessageBox.warning(self, title, message)

    def _on_writer_busy(self, busy: bool) -> None:
        self.status.set_stored("saving" if busy else ("failed" if self.write_failed else "stored"))

    def _probe_device(self) -> None:
        if not self.worker.is_stopped() and self.status.device_label.text() == "device: –":
            self.worker.submit(
                self.worker.configured_device,
                Priority.PREFETCH,
                on_done=lambda device: self.status.set_device(f"{device} (no model loaded)"),
            )

    def _on_models(self, device: str, models: str) -> None:
        self.status.set_device(device)
        self.status.set_models(models)

    # ------------------------------------------------------------------ closing
    def wait_for_writes(self, timeout_ms: int = 10000) -> bool:
        """Process events until every queued write is stored (used before closing)."""
        from PySide6.QtCore import QDeadlineTimer, QEventLoop
        from PySide6.QtWidgets import QApplication

        deadline = QDeadlineTimer(timeout_ms)
        while not self.writer.idle() and not deadline.hasExpired():
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
        return self.writer.idle()

    def closeEvent(self, event: QCloseEvent) -> None:
        self.playback.close()
        if self.video is not None and self.project is not None:
            vid, frame = self.video.id, self.frame
            self.writer.submit(lambda: self.project.store.set_setting(f"gui.frame.{vid}", frame))
        self.wait_for_writes()
        self.worker.cancel_all()
        self.io.cancel_all()
        for runner in (self.writer, self.io, self.media, self.queries, self.worker):
            runner.stop()
        self.frames.stop()
        if self.project is not None:
            self.project.close()
            self.project = None
        self.settings.setValue("brush_radius", self.brush_radius)
        super().closeEvent(event)
