"""Start the GUI: `python main.py [PROJECT_DIR]`, `avs-studio gui [PROJECT_DIR]` or `avs-studio-gui`.

With no folder the bundled sample project opens (copied into the user data dir on first run, never
written inside the install). A folder that is not a project is offered to become one.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from avs_studio import __version__
from avs_studio.jobs import Project, init_project, is_project, open_project
from avs_studio.jobs.sample import open_sample_project

Confirm = Callable[[str], bool]


def ask_user(question: str) -> bool:
    answer = QMessageBox.question(None, "AVS Studio", question)
    return answer == QMessageBox.StandardButton.Yes


def resolve_project(
    project_dir: str | Path | None, database_url: str | None = None, confirm: Confirm = ask_user
) -> Project | None:
    """The project to show: the folder given (created after ``confirm``), or the sample project."""
    if project_dir is None:
        return open_sample_project()
    path = Path(project_dir).expanduser()
    if is_project(path):
        return open_project(path, database_url)
    if path.exists() and not path.is_dir():
        raise FileNotFoundError(f"{path} is a file, not a project folder; pass a folder")
    if confirm(f"{path} is not an AVS Studio project.\nCreate a new project there?"):
        return init_project(path, database_url)
    return None


def application(argv: list[str] | None = None) -> QApplication:
    app = QApplication.instance() or QApplication([sys.argv[0], *(argv or [])])
    app.setOrganizationName("AVS Studio")
    app.setApplicationName("AVS Studio")
    app.setApplicationVersion(__version__)
    return app  # type: ignore[return-value]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="avs-studio-gui", description="AVS Studio annotation window")
    parser.add_argument("project_dir", nargs="?", help="project folder (default: the sample project)")
    parser.add_argument(
        "--database-url", metavar="URL", help="database of the project (default PROJECT/project.db)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    return run(args.project_dir, args.database_url)


def run(project_dir: str | None, database_url: str | None = None) -> int:
    from avs_studio.gui.main_window import MainWindow

    app = application()
    try:
        project = resolve_project(project_dir, database_url)
    except Exception as exc:  # say which folder and why; the window still opens (File ▸ Open)
        QMessageBox.critical(None, "Cannot open the project", f"{project_dir or 'sample project'}: {exc}")
        project = None
    window = MainWindow(project)
    window.show()
    return app.exec()
