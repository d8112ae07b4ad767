"""The window's menus and what each action does: one table from action id to a controller call, plus the
small dialogs the menus open (projects, videos, shortcuts, about).

To add a command: an ``ActionSpec`` in ``gui/actions.py`` (text, keys, menu) and one line in
``connect_actions`` that calls a controller method.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction, QActionGroup
from PySide6.QtWidgets import QAbstractItemView, QFileDialog, QMenu, QMessageBox

from avs_studio import __version__
from avs_studio.gui.export_dialog import export_dialog
from avs_studio.gui.file_jobs import add_videos_dialog, import_dataset_dialog, locate_video_dialog
from avs_studio.gui.quality_panel import QualityDialog
from avs_studio.gui.shortcuts import ShortcutEditor, ShortcutListDialog
from avs_studio.gui.tools import TOOLS

if TYPE_CHECKING:
    from avs_studio.gui.main_window import MainWindow

# what changes the project: disabled while it is open read-only (browsing, playback, export stay)
EDITING_ACTIONS = (
    "add_videos", "locate_video", "import_dataset", "undo", "redo", "settings", "accept", "reject", "accept_clip",
    "tool_brush", "tool_eraser", "tool_polygon", "tool_sam", "fill_holes", "copy_previous", "rerun_prompt",
    "run_clip", "run_videos",
)  # fmt: skip
MENUS = ("File", "Edit", "Navigate", "Review", "Tools", "Annotate", "View", "Help")


def build_menus(w: MainWindow) -> tuple[dict[str, QMenu], QActionGroup]:
    """The menu bar from the action table (every action also works by key wherever the focus is), and
    the group of tool actions (one tool at a time, or none)."""
    a = w.action_table
    menus = {name: w.menuBar().addMenu(f"&{name}") for name in MENUS}
    for spec in a.specs.values():
        if spec.menu and not spec.id.startswith("select_"):
            menus[spec.menu].addAction(a[spec.id])
        w.addAction(a[spec.id])
    select = menus["Review"].addMenu("Select object")
    for i in range(1, 10):
        select.addAction(a[f"select_{i}"])
    tools = QActionGroup(w)
    for name in TOOLS:
        tools.addAction(a[f"tool_{name}"])
    tools.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
    for name, text, slot in (
        ("import_dataset", "Import AVSBench…", import_dataset_dialog),
        ("export_dataset", "Export…", export_dialog),
    ):
        action = QAction(text, w)
        action.setObjectName(name)
        action.triggered.connect(lambda _c=False, slot=slot: slot(w))
        menus["File"].insertAction(a["quit"], action)
    w.pipeline_menu.build(menus["Annotate"])
    menus["Annotate"].insertMenu(a["run_clip"], w.engine_menu)
    menus["Annotate"].insertMenu(a["propagate_object"], w.propagation_engine_menu)
    menus["View"].addSeparator()
    menus["View"].addAction(w.jobs_dock.toggleViewAction())
    a["show_jobs"].setVisible(False)  # the dock's own toggle action takes its place
    w.jobs_dock.toggleViewAction().setShortcut(a["show_jobs"].shortcut())
    return menus, tools


def connect_actions(w: MainWindow) -> None:
    """Action id -> what it does (controllers for session changes, widgets for view-only changes)."""
    a, nav, edit, transport, proposals = w.action_table, w.nav, w.edit, w.transport, w.proposals
    a.connect("new_project", lambda: new_project_dialog(w))
    a.connect("open_project", lambda: open_project_dialog(w))
    a.connect("add_videos", lambda: add_videos_dialog(w))
    a.connect("locate_video", lambda: locate_video_dialog(w))
    a.connect("quit", w.close)
    a.connect("undo", w.history.undo)
    a.connect("redo", w.history.redo)
    a.connect("settings", w.pipeline_menu.show_settings)
    a.connect("edit_shortcuts", lambda: edit_shortcuts(w))
    a.connect("download_models", w.pipeline_menu.download_models)
    a.connect("play", transport.toggle_play)
    a.connect("play_second", transport.play_second)
    a.connect("slower", lambda: transport.change_speed(-1))
    a.connect("faster", lambda: transport.change_speed(+1))
    a["loop_clip"].toggled.connect(transport.set_loop_clip)
    a.connect("prev_frame", lambda: nav.step(-1))
    a.connect("next_frame", lambda: nav.step(1))
    a.connect("back_second", lambda: nav.step_seconds(-1))
    a.connect("forward_second", lambda: nav.step_seconds(1))
    a.connect("prev_keyframe", lambda: nav.step_keyframe(-1))
    a.connect("next_keyframe", lambda: nav.step_keyframe(1))
    a.connect("next_review", nav.next_review)
    a.connect("accept", w.review.accept)
    a.connect("reject", w.review.reject)
    a.connect("accept_clip", w.review.accept_clip)
    a.connect("next_uncertain", w.review_queue.next_uncertain)
    a.connect("proposal_quality", lambda: show_quality(w))
    for name in TOOLS:
        a[f"tool_{name}"].toggled.connect(lambda on, n=name: w.tool_toggled(n, on))
    a.connect("brush_smaller", lambda: edit.set_brush_radius(edit.brush_radius / 1.25))
    a.connect("brush_larger", lambda: edit.set_brush_radius(edit.brush_radius * 1.25))
    a.connect("fill_holes", edit.fill_holes)
    a.connect("copy_previous", edit.copy_previous_keyframe)
    a.connect("rerun_prompt", lambda: proposals.rerun_prompt(w.prompt_panel.phrases(w.session.frame)))
    a.connect("run_clip", proposals.run_current_clip)
    a.connect("run_videos", lambda: proposals.run_videos(w.project_panel.selected_video_ids()))
    a.connect("propagate_object", w.propagation.propagate_selected)
    a.connect("propagate_all", w.propagation.propagate_all)
    a.connect("mask_mode", lambda: w.status.showMessage(f"masks: {w.canvas.cycle_mask_mode()}", 2000))
    a["spectrogram"].toggled.connect(w.timeline.show_spectrogram)
    a.connect("zoom_fit", w.canvas.zoom_fit)
    a.connect("zoom_in", lambda: w.canvas.zoom_by(1.25))
    a.connect("zoom_out", lambda: w.canvas.zoom_by(0.8))
    a.connect("shortcuts", lambda: show_shortcuts(w))
    a.connect("about", lambda: show_about(w))
    for i in range(1, 10):
        a.connect(f"select_{i}", lambda i=i: w.objects.select_number(i))


def set_read_only(w: MainWindow, reason: str) -> None:
    """Disable (reason given) or re-enable what changes the project; the status bar marks it."""
    named = {a.objectName(): a for a in w.findChildren(QAction) if a.objectName()}
    if reason:
        w.set_tool(None)
    for aid in EDITING_ACTIONS:
        action = named.get(aid)
        if action is None:
            continue
        if reason and action.isEnabled():
            action.setEnabled(False)
            action.setProperty("read_only_off", True)
        elif not reason and action.property("read_only_off"):
            action.setEnabled(True)  # only what read-only mode turned off (not a missing extra's)
            action.setProperty("read_only_off", False)
    panel = w.object_panel
    for button in (panel.add_button, panel.rename_button, panel.merge_button, panel.delete_button):
        button.setEnabled(not reason)
    panel.table.setEditTriggers(
        QAbstractItemView.EditTrigger.NoEditTriggers
        if reason
        else QAbstractItemView.EditTrigger.DoubleClicked
    )
    w.status.set_read_only(reason)


# ---------------------------------------------------------------- dialogs the menus open
def new_project_dialog(w: MainWindow) -> None:
    folder = QFileDialog.getExistingDirectory(w, "New project: choose an empty folder")
    if folder:
        w.open_path(folder, create=True)


def open_project_dialog(w: MainWindow) -> None:
    folder = QFileDialog.getExistingDirectory(w, "Open project folder")
    if folder:
        w.open_path(folder)


def show_shortcuts(w: MainWindow) -> ShortcutListDialog:
    """F1: every action with its keys (a non-modal child of the window)."""
    dialog = ShortcutListDialog(w.action_table.actions, w)
    dialog.setModal(False)
    dialog.show()
    return dialog


def edit_shortcuts(w: MainWindow) -> ShortcutEditor:
    """The shortcut editor; on OK the keys apply at once and are kept (QSettings) across restarts."""
    table = w.action_table
    dialog = ShortcutEditor(table.actions, table.default_mapping(), parent=w, apply=table.apply_mapping)
    dialog.accepted.connect(lambda: w.jobs_dock.toggleViewAction().setShortcut(table["show_jobs"].shortcut()))
    dialog.setModal(True)
    dialog.show()
    return dialog


def show_quality(w: MainWindow) -> QualityDialog:
    """Review ▸ Proposal quality…: a non-modal dialog, computed again each time it is opened."""
    if w.quality_dialog is None:
        w.quality_dialog = QualityDialog(w.engines, w)
    w.quality_dialog.show()
    w.quality_dialog.raise_()
    w.quality_dialog.refresh()
    return w.quality_dialog


def show_about(w: MainWindow) -> None:
    QMessageBox.about(
        w,
        "About AVS Studio",
        f"AVS Studio {__version__}\nAnnotate audio-visual segmentation: hear it, see it, fix it.\n"
        "Proposals by OpenAVS (Chen et al., 2025).",
    )
