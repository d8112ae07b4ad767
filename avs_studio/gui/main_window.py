"""The main annotation window: it builds the widgets, the session and its controllers, and wires them.

State lives in ``self.session`` (an AnnotationSession, no Qt); each user intent goes to a controller
(``nav``, ``edit``, ``review``, ``history``, ``objects``, ``proposals``, ``propagation``); ``SessionView`` draws the
session into the widgets. The window itself only owns the project's lifetime and the threads.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDockWidget,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from avs_studio.gui import file_jobs, menus
from avs_studio.gui.actions import ActionTable
from avs_studio.gui.availability import grey_out_unavailable
from avs_studio.gui.canvas import Canvas
from avs_studio.gui.engine_view import EngineIndicator, EngineMenu, PropagationEngineMenu
from avs_studio.gui.frames import FrameLoader
from avs_studio.gui.jobs_view import JobsView
from avs_studio.gui.panels import JobsPanel, ObjectPanel, ProjectPanel, PromptPanel
from avs_studio.gui.pipeline_menu import PipelineMenu
from avs_studio.gui.playback import PlaybackController
from avs_studio.gui.problems import Button, ProblemBox
from avs_studio.gui.session_view import SessionView
from avs_studio.gui.statusbar import StatusBar
from avs_studio.gui.timeline import TimelineWidget
from avs_studio.gui.tools import TOOLS
from avs_studio.gui.training_dialog import install_train_menu
from avs_studio.gui.transport import Transport
from avs_studio.gui.worker import InferenceWorker, JobRunner, Priority, TaskRunner
from avs_studio.jobs import Project, init_project, is_project, open_project
from avs_studio.session import (
    AnnotationSession,
    Controller,
    Controllers,
)
from avs_studio.store import VideoRow

GIL_SWITCH_S = 0.001
DEVICE_PROBE_MS = 500


class MainWindow(QMainWindow):
    """One project at a time; frames decode on a thread, edits are stored by the writer thread.

    The window owns the project it shows: it closes it when another project is opened or on close.
    ``ask=False`` never opens a question box (tests, scripted use); errors then go to the status bar
    and ``last_error``.

    Threads: ``frames`` (decoding), ``media`` (frame times, audio, waveform), ``writer`` (every store
    write, in order), ``worker`` (the models: SAM clicks, re-segmenting, proposals), ``io`` (adding
    videos, import, export), ``queries`` (project list summaries).
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
        self.last_error: str | None = None
        self.problems = ProblemBox(self)
        self.export_window: Any = None  # File ▸ Export…'s dialog, when open
        self.last_export: Any = None  # the report of the last export made from the window
        brush = float(str(self.settings.value("brush_radius", 8.0)))
        self.session = s = AnnotationSession(brush_radius=brush)

        # threads
        self.frames = FrameLoader(parent=self)
        self.media = TaskRunner("media", self)
        self.queries = TaskRunner("queries", self)
        self.writer = TaskRunner("writer", self)
        self.worker = worker if worker is not None else InferenceWorker(parent=self)
        self.io = JobRunner("io", self)

        # controllers (no Qt): each takes the session and the runners it needs
        self.controllers = c = Controllers.wire(s, self.writer, self.worker, self.frames, self.media, self.queries)
        self.nav, self.edit, self.review, self.history, self.objects = c.nav, c.edit, c.review, c.history, c.objects
        self.proposals, self.propagation, self.engines = c.proposals, c.propagation, c.engines
        self.review_queue = c.review_queue
        s.edit_guard.ask = self.edit_anyway
        self.questions: list[str] = []  # questions asked (with ask=False: answered by answer_questions)
        self.answer_questions = True

        # widgets, and the view that draws the session into them
        self.canvas = Canvas()
        self.timeline = TimelineWidget()
        self.playback = PlaybackController(self)
        self.project_panel = ProjectPanel(runner=self.queries)
        self.object_panel = ObjectPanel()
        self.prompt_panel = PromptPanel()
        self.jobs_panel = JobsPanel()
        self.status = StatusBar()
        self.setStatusBar(self.status)
        self.engine_indicator = EngineIndicator()
        self.status.addPermanentWidget(self.engine_indicator)
        s.events.engine_changed.connect(self.engine_indicator.show_engine)
        self._build_layout()
        self.view = SessionView(
            s, canvas=self.canvas, timeline=self.timeline, playback=self.playback, status=self.status,
            project_panel=self.project_panel, object_panel=self.object_panel,
            prompt_panel=self.prompt_panel, parent=self,
        )  # fmt: skip
        self.transport = Transport(s, self.nav, self.playback)
        self.pipeline_menu = PipelineMenu(
            self, Controller(s, self.writer), self.worker, self.status, self.show_error, self._note_error, ask,
            self.problems.expect,
        )  # fmt: skip
        self.action_table = ActionTable(self, self.settings)
        self.tools = {name: cls(self.edit) for name, cls in TOOLS.items()}
        self.engine_menu = EngineMenu(self.engines, self)
        self.propagation_engine_menu = PropagationEngineMenu(self.propagation, self)
        self.quality_dialog: Any = None  # Review ▸ Proposal quality… (made when first opened)
        self.menus, self.tool_group = menus.build_menus(self)
        install_train_menu(self)
        grey_out_unavailable(self)  # actions whose pip extra is not installed (avs_studio.extras)
        self._connect()
        self.resize(1400, 860)
        self.resizeDocks([self.jobs_dock], [110], Qt.Orientation.Vertical)
        if project is not None:
            self.set_project(project)
        # which device the pipeline settings ask for (the real one shows when a model loads)
        QTimer.singleShot(DEVICE_PROBE_MS, self, self._probe_device)

    # ------------------------------------------------------------------ what is shown
    @property
    def project(self) -> Project | None:
        return self.session.project

    @property
    def video(self) -> VideoRow | None:
        return self.session.video

    @property
    def frame(self) -> int:
        """The frame asked for (``canvas.frame_index`` is the one shown)."""
        return self.session.frame

    # ------------------------------------------------------------------ layout and wiring
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

    def _connect(self) -> None:
        """Qt signals -> controllers; session events -> the window's own signals (after the view drew)."""
        s, e = self.session, self.session.events
        menus.connect_actions(self)
        self.frames.frame_ready.connect(self.nav.frame_ready)
        self.frames.failed.connect(lambda path, i, msg: self.show_error("Cannot show the frame", msg))
        self.timeline.seekRequested.connect(self.nav.seek)
        self.canvas.space_tapped.connect(self._space_tapped)
        self.project_panel.video_selected.connect(self.nav.open_video)
        self.object_panel.selected.connect(self.objects.select)
        self.object_panel.add_requested.connect(self.objects.add)
        self.object_panel.rename_requested.connect(self.objects.rename)
        self.object_panel.merge_requested.connect(self.objects.merge)
        self.object_panel.delete_requested.connect(self.objects.delete)
        self.object_panel.flags_changed.connect(self.objects.set_flags)
        self.prompt_panel.phrases_edited.connect(self.proposals.resegment_frame)
        self.writer.busy_changed.connect(self.view.stored_state)
        self.jobs = JobsView(self)
        self.worker.models_changed.connect(self.status.set_device_models)
        self.worker.model_missing.connect(self.pipeline_menu.offer_download)
        e.error.connect(self.show_error)
        e.video_missing.connect(lambda video: file_jobs.video_missing(self, video))
        e.frame_shown.connect(self.frame_shown.emit)
        e.media_loaded.connect(lambda _media: self.media_loaded.emit(s.video.id if s.video else -1))

    # ------------------------------------------------------------------ project
    def set_project(self, project: Project | None) -> None:
        """Show ``project`` (the window closes the previous one)."""
        old = self.session.project
        if old is not None and old is not project:
            self.writer.wait_idle()
            self.worker.cancel_all()
            self.io.cancel_all()
            self.worker.submit(old.close, priority=99)  # after any cancelled job let go of it
        self.session.set_project(project)
        read_only = project.read_only if project is not None else ""
        menus.set_read_only(self, read_only)
        title = f"AVS Studio — {project.dir.name}" if project else "AVS Studio"
        self.setWindowTitle(title + (" (read-only)" if read_only else ""))
        if project is not None:
            self.pipeline_menu.load()
            self.nav.open_last_video()
        self.project_changed.emit()

    def open_path(self, folder: str | Path, create: bool = False) -> bool:
        """Open the project in ``folder``; a folder that is not a project is offered to become one."""
        path = Path(folder)
        try:
            if is_project(path):
                project = open_project(path)
            else:
                if not create and self.ask:
                    question = f"{path} is not an AVS Studio project.\nCreate a new project in this folder?"
                    answer = QMessageBox.question(self, "Not a project", question)
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

    # ------------------------------------------------------------------ tools, jobs, status
    def set_tool(self, name: str | None) -> None:
        """Turn a canvas tool on (None: turn the active one off), as its key does."""
        if name is None:
            checked = self.tool_group.checkedAction()
            if checked is not None:
                checked.setChecked(False)
        else:
            self.action_table[f"tool_{name}"].setChecked(True)

    def tool_toggled(self, name: str, on: bool) -> None:
        if on:
            self.canvas.set_tool(self.tools[name])
            self.edit.set_tool(name)
        elif self.canvas.tool is self.tools[name]:
            self.canvas.set_tool(None)
            self.edit.set_tool(None)

    def _space_tapped(self) -> None:
        if "Space" in [k.toString() for k in self.action_table.keys("play")]:
            self.action_table["play"].trigger()

    def show_error(
        self, title: str, message: str, buttons: Sequence[Button] = (), covers: Sequence[str] = ()
    ) -> None:
        """Report a problem: the status bar, ``last_error`` and (asking) the one problem dialog, which
        never shows the same problem twice at once nor stacks a second dialog (``gui.problems``)."""
        self.status.showMessage(f"{title}: {message}", 10000)
        self._note_error(f"{title}: {message}")
        if self.ask:
            self.problems.report(title, message, buttons, covers)

    def edit_anyway(self, annotator: str, question: str) -> bool:
        """The assignment guard's question (session.edit_guard): edit a video someone else has?"""
        self.questions.append(question)
        if not self.ask:
            return self.answer_questions
        buttons = QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No
        answer = QMessageBox.question(self, f"Assigned to {annotator}", question, buttons)
        # the box took the mouse: a stroke it interrupted would go on painting without a button held
        QTimer.singleShot(0, self.session.events.edit_ended.emit)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.status.showMessage(f"Editing {annotator}'s video: draw again", 5000)
        return True

    def _note_error(self, message: str) -> None:
        self.last_error = message

    def _probe_device(self) -> None:
        if not self.worker.is_stopped() and self.status.device_label.text() == "device: –":
            self.worker.submit(
                self.worker.configured_device,
                Priority.PREFETCH,
                on_done=lambda device: self.status.set_device(f"{device} (no model loaded)"),
            )

    # ------------------------------------------------------------------ closing
    def closeEvent(self, event: QCloseEvent) -> None:
        self.playback.close()
        self.nav.remember_position()
        self.writer.wait_idle()
        self.worker.cancel_all()
        self.io.cancel_all()
        for runner in (self.writer, self.io, self.media, self.queries, self.worker):
            runner.stop()
        self.frames.stop()
        project = self.session.project
        if project is not None:
            project.close()
            self.session.set_project(None)
        self.settings.setValue("brush_radius", self.session.brush_radius)
        super().closeEvent(event)
