"""The File menu's jobs: add videos, locate a moved video, import AVSBench (Export…: gui.export_dialog).

Each asks where and what, then runs its job on the io thread; the window only calls them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

if TYPE_CHECKING:
    from avs_studio.gui.main_window import MainWindow
    from avs_studio.store import VideoRow

VIDEO_FILTER = "Videos (*.mp4 *.mkv *.mov *.avi *.webm *.m4v);;All files (*)"


def start_add_videos(window: MainWindow, paths: list[str], split: str | None = None) -> int:
    """Probe and add files on the io thread (a job with progress); the panel refreshes at the end."""
    from avs_studio.jobs import add_videos

    project = window.project
    assert project is not None

    def job(progress: Any, cancel: Any, _on_clip: Any) -> Any:
        return add_videos(project, paths, split=split, progress=progress)

    def done(report: Any) -> None:
        window.project_panel.refresh()
        if report is not None and report.skipped:
            lines = "\n".join(f"{p}: {why}" for p, why in report.skipped)
            window.show_error("Some files were not added", lines)
        if window.session.video is None and report is not None and report.added:
            window.nav.open_video(report.added[0][1])

    return window.io.start_job(f"Add {len(paths)} video(s)", job, on_done=done)


def add_videos_dialog(w: MainWindow) -> None:
    if w.project is None:
        return
    paths, _ = QFileDialog.getOpenFileNames(w, "Add videos", "", VIDEO_FILTER)
    if paths:
        start_add_videos(w, paths)


def locate_video_dialog(w: MainWindow, video_id: int | None = None) -> None:
    """File ▸ Locate video…: choose where a moved video is now (the shown one, else the first missing)."""
    from avs_studio.jobs.project import missing_videos

    if w.project is None:
        return
    if video_id is None:
        missing = [v.id for v in missing_videos(w.project)]
        shown = w.session.video
        if shown is not None and (shown.id in missing or not missing):
            video_id = shown.id
        elif missing:
            video_id = missing[0]
        else:
            return
    video = w.project.store.video(video_id)
    path, _ = QFileDialog.getOpenFileName(w, f"Locate {video.name}", "", VIDEO_FILTER)
    if path:
        w.nav.relink(video.id, path)


def video_missing(window: MainWindow, video: VideoRow) -> None:
    """The opened video's file is gone: say so on the canvas and offer File ▸ Locate video…."""
    text = (
        f"The file of video “{video.name}” is not at {video.path} (moved, renamed or on a drive that "
        f"is not mounted). Its masks are safe in the project. Use File ▸ Locate video… to show where "
        f"it is now; its content is checked, so only the same video is accepted."
    )
    window.canvas.set_notice(text)
    locate = ("Locate video…", lambda: locate_video_dialog(window, video.id))
    window.show_error("Video file missing", text, [] if window.session.read_only else [locate])


def start_import(window: MainWindow, root: str, subset: str) -> int:
    from avs_studio.jobs.importing import import_avsbench

    project = window.project

    def job(progress: Any, cancel: Any, _on_clip: Any) -> Any:
        return import_avsbench(project, root, subset, progress=progress, cancel=cancel)

    def done(report: Any) -> None:
        window.project_panel.refresh()
        window.status.showMessage(report.summary(), 10000)
        if report.problems and window.ask:
            details = "\n".join(f"{p}" for p in report.problems[:50])
            QMessageBox.information(
                window, "Import finished with problems", f"{report.summary()}\n\n{details}"
            )

    return window.io.start_job(f"Import AVSBench {subset.upper()} from {root}", job, on_done=done)


def import_dataset_dialog(window: MainWindow) -> None:
    from avs_studio.io.avsbench import SUBSETS

    if window.project is None:
        return
    root = QFileDialog.getExistingDirectory(window, "AVSBench folder to import")
    if not root:
        return
    subset, ok = QInputDialog.getItem(window, "Import AVSBench", "Subset:", list(SUBSETS), 0, False)
    if ok:
        start_import(window, root, subset)
