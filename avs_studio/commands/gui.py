"""`avs-studio gui [PROJECT_DIR]`: open the annotation window (Qt is imported only when it runs)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("gui", help="open the annotation window (default: the sample project)")
    p.add_argument(
        "project_dir", nargs="?", help="project folder; a non-project folder is offered to become one"
    )
    p.set_defaults(func=cmd_gui)


def cmd_gui(args) -> int:
    from avs_studio.app import run

    return run(args.project_dir, getattr(args, "database_url", None))
