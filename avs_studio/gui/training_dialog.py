"""The Train menu and its dialog: train a student (OpenAVS-ST) in a subprocess with live curves.

Public API
    install_train_menu(main_window) -> QMenu      adds "Train" (before "Help") with "Train student…"
    TrainingDialog(project, parent=None, *, options=None)
        start(resume=False)   run `python -m avs_studio.training` (QProcess) with the form's settings
        cancel()              SIGTERM: the trainer finishes its step, saves its checkpoint and exits
        use_as_engine()       setting proposal_engine = "student:NAME" for the selected finished run
                              (signal engine_set(str): the window's status bar follows at once)
        is_running() -> bool; state: "idle" | "running" | "done" | "cancelled" | "error"
        signals  event(dict) for each trainer event, finished(str state)
        widgets  summary (QTableWidget per split), plan (QLabel: the frames of each kind this run will use),
                 name/backbone/image_size/steps/device/edited/pseudo/pseudo_weight/pseudo_min_score
                 (initial values from avs_studio.training.settings.DEFAULTS), backbone_note,
                 loss_plot / miou_plot (pyqtgraph) with loss_curve / miou_curve, progress, message,
                 runs (QTableWidget of training runs), buttons start_button/resume_button/cancel_button/
                 engine_button
The subprocess is the same command `avs-studio train` runs (avs_studio.jobs.train.train_command), so the
GUI never blocks and a crash of the trainer cannot take the window with it.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QProcess, QProcessEnvironment, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from avs_studio.gui.training_form import Curves, SettingsForm
from avs_studio.jobs import Project
from avs_studio.jobs.train import (
    TrainError,
    prepare_options,
    train_command,
    use_as_proposal_engine,
)
from avs_studio.openavs.weights import ModelError
from avs_studio.settings import PROPOSAL_ENGINE
from avs_studio.training.selection import summarize, training_plan
from avs_studio.training.settings import AUTO_BACKBONE, DEFAULTS

SPLIT_ORDER = ("train", "val", "test", "unassigned")
RUN_COLUMNS = ("name", "status", "val mIoU", "val F", "steps", "finished")


def _item(text: Any) -> QTableWidgetItem:
    item = QTableWidgetItem("" if text is None else str(text))
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else ("" if value is None else str(value))


class TrainingDialog(QDialog):
    event = Signal(dict)
    finished = Signal(str)
    engine_set = Signal(str)  # "student:NAME" became the project's proposal engine

    def __init__(
        self, project: Project, parent: QWidget | None = None, *, options: dict[str, Any] | None = None
    ):
        super().__init__(parent)
        self.setWindowTitle("Train a student model")
        self.project = project
        self.options = dict(options or {})  # extra trainer flags (e.g. batch_size for tiny test data)
        self.state = "idle"
        self.process: QProcess | None = None
        self._buffer = b""
        self._stderr = b""
        self._losses: list[tuple[int, float]] = []
        self._mious: list[tuple[int, float]] = []
        self._run_name: str | None = None
        self._build()
        self.refresh()

    # ------------------------------------------------------------------ layout
    def _build(self) -> None:
        self.summary = QTableWidget(0, 5)
        self.summary.setHorizontalHeaderLabels(["split", "videos", "accepted", "edited", "pseudo"])
        for col, tip in enumerate(
            (
                "",
                "videos in the split",
                "keyframes with accepted masks",
                "keyframes a person corrected but has not accepted (nothing left proposed)",
                "keyframes with OpenAVS proposals in unreviewed videos whose score reaches the threshold",
            )
        ):
            self.summary.horizontalHeaderItem(col).setToolTip(tip)
        self.summary.verticalHeader().setVisible(False)
        self.summary.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.summary.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.summary.setMaximumHeight(130)

        self.form = SettingsForm(
            int(self.options.pop("image_size", DEFAULTS.image_size)),
            int(self.options.pop("steps", DEFAULTS.steps)),
        )
        f = self.form  # its widgets are the dialog's too (tests and callers use dialog.steps, ...)
        self.name, self.backbone, self.backbone_note = f.name, f.backbone, f.backbone_note
        self.image_size, self.steps, self.device = f.image_size, f.steps, f.device
        self.edited, self.pseudo = f.edited, f.pseudo
        self.pseudo_weight, self.pseudo_min_score = f.pseudo_weight, f.pseudo_min_score

        self.plan = QLabel()
        self.plan.setWordWrap(True)
        self.plan.setAlignment(Qt.AlignmentFlag.AlignTop)
        # a wrapped label gets the height of one width guess in a grid: keep room for the whole plan
        self.plan.setMinimumHeight(self.plan.fontMetrics().lineSpacing() * 4 + 4)
        data = QGroupBox("Data (labelled keyframes per split)")
        data_layout = QVBoxLayout(data)
        data_layout.addWidget(self.summary)
        data_layout.addWidget(self.plan)
        data_layout.addStretch(1)
        for box in (self.edited, self.pseudo):
            box.toggled.connect(self.update_plan)
        self.pseudo.toggled.connect(lambda _on: self._update_buttons())
        for spin in (self.pseudo_weight, self.pseudo_min_score):
            spin.valueChanged.connect(self.update_plan)
        self.backbone.currentTextChanged.connect(self._update_backbone_note)

        self.curves = Curves()
        self.loss_plot, self.loss_curve = self.curves.loss_plot, self.curves.loss_curve
        self.miou_plot, self.miou_curve = self.curves.miou_plot, self.curves.miou_curve

        self.progress = QProgressBar()
        self.progress.setFormat("%v / %m steps")
        self.message = QLabel("Ready.")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.runs = QTableWidget(0, len(RUN_COLUMNS))
        self.runs.setHorizontalHeaderLabels(list(RUN_COLUMNS))
        self.runs.verticalHeader().setVisible(False)
        self.runs.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.runs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runs.setMaximumHeight(150)
        self.runs.itemSelectionChanged.connect(self._run_selected)
        runs_box = QGroupBox("Training runs")
        runs_layout = QVBoxLayout(runs_box)
        runs_layout.addWidget(self.runs)

        self.start_button = QPushButton("Start")
        self.resume_button = QPushButton("Resume")
        self.cancel_button = QPushButton("Cancel")
        self.engine_button = QPushButton("Use as proposal engine")
        self.close_button = QPushButton("Close")
        self.start_button.clicked.connect(lambda: self.start(resume=False))
        self.resume_button.clicked.connect(lambda: self.start(resume=True))
        self.cancel_button.clicked.connect(self.cancel)
        self.engine_button.clicked.connect(self.use_as_engine)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        for b in (self.start_button, self.resume_button, self.cancel_button, self.engine_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)

        top = QGridLayout()
        top.addWidget(data, 0, 0)
        top.addWidget(self.form, 0, 1)
        top.setColumnStretch(0, 1)
        top.setColumnStretch(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.curves, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        layout.addWidget(runs_box)
        layout.addLayout(buttons)
        self.resize(980, 760)
        self._update_buttons()

    # ------------------------------------------------------------------ data
    def refresh(self) -> None:
        """Reload the data summary, the plan and the list of training runs from the store."""
        self.update_plan()
        self._update_backbone_note()
        self._runs_table(self.project.store.training_runs())

    def _runs_table(self, runs) -> None:
        self.runs.setRowCount(len(runs))
        engine = self.project.store.get_setting(PROPOSAL_ENGINE)
        for row, run in enumerate(runs):
            m = run.metrics or {}
            name = run.name + ("  (proposal engine)" if engine == f"student:{run.name}" else "")
            values = (
                name,
                run.status,
                _fmt(m.get("val_miou")),
                _fmt(m.get("val_f")),
                m.get("steps", ""),
                run.finished_at.strftime("%Y-%m-%d %H:%M") if run.finished_at else "",
            )
            for col, value in enumerate(values):
                item = _item(value)
                item.setData(Qt.ItemDataRole.UserRole, run.name)
                self.runs.setItem(row, col, item)
        self._update_buttons()

    def update_plan(self) -> None:
        """Say how many frames of each kind a run with the current settings will use."""
        chosen = DEFAULTS.updated(**self.form.data_settings())
        plan = training_plan(self.project.store, chosen)
        t, v = plan["train"], plan["val"]
        parts = [f"{t['accepted']} accepted"]
        if chosen.include_edited:
            parts.append(f"{t['edited']} edited")
        if chosen.pseudo_labels:
            parts.append(
                f"{t['pseudo']} pseudo-labelled (OpenAVS proposals, weight {chosen.pseudo_weight:g}, "
                f"score ≥ {chosen.pseudo_min_score:g})"
            )
        self.plan.setText(
            f"This run trains on {' + '.join(parts)} = {sum(t.values())} frames from "
            f"{plan['train_videos']} videos, and validates on {sum(v.values())} frames."
        )
        self.plan_counts = plan
        self._fill_summary()

    def _fill_summary(self) -> None:
        counts = summarize(self.project.store, self.pseudo_min_score.value())
        splits = [s for s in SPLIT_ORDER if s in counts] + sorted(set(counts) - set(SPLIT_ORDER))
        self.summary.setRowCount(len(splits))
        for row, split in enumerate(splits):
            c = counts[split]
            values = (split, c["videos"], c["accepted_frames"], c["edited_frames"], c["pseudo_frames"])
            for col, value in enumerate(values):
                self.summary.setItem(row, col, _item(value))

    def _update_backbone_note(self) -> None:
        if self.backbone.currentText() != AUTO_BACKBONE:
            self.backbone_note.setText("")
            return
        try:
            _options, note = prepare_options({"backbone": AUTO_BACKBONE})
        except (TrainError, ModelError) as exc:
            note = str(exc)
        self.backbone_note.setText(note)

    def _run_selected(self) -> None:
        rows = self.runs.selectionModel().selectedRows()
        if rows and not self.is_running():
            self.name.setText(self.runs.item(rows[0].row(), 0).data(Qt.ItemDataRole.UserRole))
        self._update_buttons()

    def _selected_run(self) -> str:
        return self.name.text().strip()

    # ------------------------------------------------------------------ process
    def is_running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def start(self, resume: bool = False) -> bool:
        if self.is_running():
            return False
        name = self._selected_run()
        options = {**self.options, "steps": self.steps.value()}
        if not resume:
            options.update(image_size=self.image_size.value(), backbone=self.backbone.currentText())
            options.update(self.form.data_settings())
            options.pop("pseudo_labels")
        try:
            options, _note = prepare_options(options, resume)
            cmd = train_command(
                self.project.dir,
                name,
                device=self.device.currentText(),
                pseudo_labels=self.pseudo.isChecked() and not resume,
                resume=resume,
                database_url=self.project.store.url,
                options=options,
            )
        except (ValueError, TrainError, ModelError) as exc:  # a bad model name, missing weights
            self._fail(str(exc))
            return False
        self._buffer, self._stderr = b"", b""
        if resume:  # keep the curves of the run up to its checkpoint
            self._load_history(name)
        else:
            self._losses, self._mious = [], []
        self._run_name = name
        self._redraw()
        self.progress.setRange(0, 0)
        self.process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        self.process.setProcessEnvironment(env)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._process_finished)
        self.process.errorOccurred.connect(self._process_error)
        self.state = "running"
        self.message.setStyleSheet("")
        self.message.setText(f"{'Resuming' if resume else 'Starting'} {name}: loading the data…")
        self.process.start(cmd[0], cmd[1:])
        self._update_buttons()
        return True

    def _load_history(self, name: str) -> None:
        from avs_studio.training.checkpoint import CheckpointError, load_checkpoint
        from avs_studio.training.paths import CHECKPOINT_FILE, model_dir

        try:
            state = load_checkpoint(model_dir(self.project.dir, name) / CHECKPOINT_FILE)
        except (CheckpointError, ValueError):
            self._losses, self._mious = [], []
            return  # the trainer reports it, with the file name
        history, step = state.get("history", []), int(state.get("step", 0))
        if getattr(self, "_run_name", None) == name:  # this dialog saw every step: keep them
            self._losses = [(x, y) for x, y in self._losses if x <= step]
        else:  # one point per finished epoch
            self._losses = [(h["step"], h["loss"]) for h in history]
        self._mious = [(h["step"], h["val_miou"]) for h in history if "val_miou" in h]

    def cancel(self) -> None:
        """Ask the trainer to stop: it finishes the step, saves its checkpoint and exits."""
        if self.is_running():
            self.message.setText("Cancelling: finishing the current step and saving the checkpoint…")
            self.process.terminate()  # SIGTERM

    def _read_stdout(self) -> None:
        self._buffer += bytes(self.process.readAllStandardOutput())
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            line = line.strip()
            if line.startswith(b"{"):
                try:
                    self._handle(json.loads(line))
                except json.JSONDecodeError:
                    continue

    def _read_stderr(self) -> None:
        self._stderr = (self._stderr + bytes(self.process.readAllStandardError()))[-4000:]

    def _handle(self, e: dict[str, Any]) -> None:
        kind = e.get("event")
        if kind == "data":
            self.message.setText(
                f"{e['train_samples']} training frames ({e['pseudo_samples']} pseudo-labelled) from "
                f"{e['train_videos']} videos, {e['val_samples']} validation frames, "
                f"{e.get('sound_classes', 0)} sound classes"
            )
        elif kind == "start":
            self.progress.setRange(0, max(1, int(e["total_steps"])))
            self.progress.setValue(int(e["step"]))
        elif kind == "step":
            self._losses.append((e["step"], e["loss"]))
            self.progress.setValue(int(e["step"]))
            self.message.setText(
                f"step {e['step']}/{self.progress.maximum()}  loss {e['loss']:.4f}  "
                f"about {int(e['eta_s'])} s left"
            )
            self._redraw()
        elif kind == "val":
            self._mious.append((e["step"], e["val_miou"]))
            self._redraw()
        elif kind == "early_stop":
            self.progress.setMaximum(int(e["step"]))
        elif kind in ("done", "cancelled"):
            self.state = kind
            if kind == "done":
                miou = e.get("val_miou")
                best = (
                    f"  (best val mIoU {miou:.3f} at step {e.get('best_step')})" if miou is not None else ""
                )
                self.message.setText(f"Done: {e['path']}{best}")
            else:
                self.message.setText(
                    f"Cancelled after step {e['step']}; checkpoint {e['path']} (press Resume)"
                )
        elif kind == "error":
            self._fail(e.get("message", "training failed"))
        self.event.emit(e)

    def _redraw(self) -> None:
        self.curves.show_points(self._losses, self._mious)

    def _fail(self, message: str) -> None:
        self.state = "error"
        self.message.setStyleSheet("color: #b00020;")
        self.message.setText(f"Error: {message}")

    def _process_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._fail(f"could not start the trainer ({self.process.program()})")
            self._process_finished(-1, QProcess.ExitStatus.CrashExit)

    def _process_finished(self, code: int, _status: QProcess.ExitStatus) -> None:
        if self.process is not None:
            self._read_stdout()
        if self.state == "running":  # ended without a final event
            tail = self._stderr.decode(errors="replace").strip().splitlines()[-3:]
            self._fail(f"the trainer stopped (exit status {code}) {' '.join(tail)}")
        self.progress.setRange(0, max(1, self.progress.maximum()))
        self.refresh()
        self._update_buttons()
        self.finished.emit(self.state)

    # ------------------------------------------------------------------ actions
    def use_as_engine(self) -> bool:
        name = self._selected_run()
        try:
            use_as_proposal_engine(self.project, name)
        except (TrainError, ValueError) as exc:
            self._fail(str(exc))
            return False
        self.message.setStyleSheet("")
        self.message.setText(f"Proposals now come from student:{name}")
        self.refresh()
        self.engine_set.emit(f"student:{name}")
        return True

    def _update_buttons(self) -> None:
        running = self.is_running()
        self.form.set_running(running)
        for w in (self.start_button, self.resume_button, self.engine_button):
            w.setEnabled(not running)
        self.cancel_button.setEnabled(running)

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt name)
        if self.is_running():
            self.cancel()
            self.process.waitForFinished(30000)
        super().closeEvent(event)


def install_train_menu(main_window: Any) -> QMenu:
    """Add the Train menu (before Help) to ``main_window``; its dialog trains on the open project."""
    bar = main_window.menuBar()
    menu = QMenu("&Train", main_window)
    help_menu = getattr(main_window, "menus", {}).get("Help")
    if help_menu is not None:
        bar.insertMenu(help_menu.menuAction(), menu)
    else:
        bar.addMenu(menu)
    action = QAction("Train student model…", main_window)
    action.setObjectName("train_student")

    def open_dialog() -> None:
        project = getattr(main_window, "project", None)
        if project is None:
            main_window.statusBar().showMessage(
                "Open a project first: training uses its accepted labels", 5000
            )
            return
        dialog = getattr(main_window, "training_dialog", None)
        if dialog is None or dialog.project is not project:
            dialog = TrainingDialog(project, main_window)
            main_window.training_dialog = dialog
            engines = getattr(main_window, "engines", None)  # the window's EngineController
            if engines is not None:
                dialog.engine_set.connect(lambda _engine: engines.refresh())
        dialog.refresh()
        dialog.show()
        dialog.raise_()

    action.triggered.connect(open_dialog)
    menu.addAction(action)
    main_window.train_menu = menu
    return menu
