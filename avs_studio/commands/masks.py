"""`propagate` (reviewed masks -> the frames around them) and `import-masks` (a folder of per-frame PNGs)."""

from __future__ import annotations

import json
import signal
import sys
import threading

from avs_studio import extras
from avs_studio.commands.common import (
    PROJECT_HELP,
    add_device,
    add_executor_arguments,
    add_json,
    executor_options,
    print_execution,
    print_json,
)
from avs_studio.progress import Bar


def register(sub) -> None:
    p = sub.add_parser(
        "propagate",
        help="carry reviewed (accepted/edited) masks to the frames between and around them, as proposals",
        description="Every object's reviewed masks are carried forward and backward to the frames around "
        "them and stored as proposals (source 'propagation'); reviewed frames and other proposals are never "
        "overwritten. Segments (the frames between two reviewed frames) are the unit of work, stored as each "
        "finishes; Ctrl-C stops after the segments being computed; run again to resume.",
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("--video", type=int, action="append", metavar="ID", help="only this video (repeatable)")
    p.add_argument("--object", type=int, action="append", metavar="ID", help="only this object (repeatable)")
    p.add_argument(
        "--engine", metavar="flow|sam2|sam3", help="propagation engine (default: the project's, set in the window's Annotate menu; flow)"
    )
    p.add_argument(
        "--config", metavar="FILE", help="TOML: engine, max_seconds, device, [flow] / [sam2] / [sam3]"
    )
    add_device(p, "the model runs (sam2 / sam3; default: the config's)", default=None)
    p.add_argument(
        "--max-seconds", type=float, metavar="S", help="how far from a reviewed frame (default 10)"
    )
    p.add_argument("--force", action="store_true", help="recompute segments whose anchors did not change")
    add_json(p)
    add_executor_arguments(p, resume=False)
    p.set_defaults(func=cmd_propagate)

    p = sub.add_parser(
        "import-masks",
        help="import per-frame mask PNGs (DAVIS style, 00000.png = frame 0) into a video",
        description="A binary PNG (0/255 or 0/1) is one object named --label; an indexed (palette) PNG gives "
        "one object per palette index ('LABEL 1', 'LABEL 2', ...). Bad files are named and skipped.",
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("video_id", type=int, help="the video the masks belong to (see `status`)")
    p.add_argument("folder", help="folder of PNGs named by 0-based frame number")
    p.add_argument(
        "--status", default="accepted", choices=["accepted", "proposed"], help="status of the imported masks"
    )
    p.add_argument("--label", help="object name (default 'object')")
    add_json(p)
    p.set_defaults(func=cmd_import_masks)


def cmd_propagate(args) -> int:
    from avs_studio import settings
    from avs_studio.jobs import open_project
    from avs_studio.jobs.propagate import propagate
    from avs_studio.openavs.propagation import PropagationConfigError, load_propagation_config

    if args.max_seconds is not None and not 0 < args.max_seconds <= 3600:
        raise PropagationConfigError(f"--max-seconds must be in (0, 3600], got {args.max_seconds}")
    options = executor_options(args)
    cancel = threading.Event()
    previous = {s: signal.signal(s, lambda *_: cancel.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        with open_project(args.project_dir, args.database_url) as project:
            engine = args.engine
            if engine is None and args.config is None:  # the project's choice (the window's, default flow)
                engine = settings.get(project.store, settings.PROPAGATION_ENGINE)
            cfg = load_propagation_config(args.config, engine=engine)
            if cfg.engine in ("sam2", "sam3"):  # the model stack is an optional extra: name it before any work
                extras.require("models", f"avs-studio propagate --engine {cfg.engine}")
            if args.max_seconds is not None:
                cfg.max_seconds = args.max_seconds
            with Bar("propagating", "segment") as bar:
                report = propagate(
                    project, args.video, config=cfg, device=args.device, objects=args.object,
                    force=args.force, progress=bar, cancel=cancel, executor=options,
                )  # fmt: skip
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2, default=str))
    else:
        print(report.summary())
        print_execution(report.execution, "segments")
        for w in report.warnings:
            print(f"warning: {w}", file=sys.stderr)
    for e in report.errors:
        print(f"error: {e}", file=sys.stderr)
    if report.cancelled:
        print(
            "cancelled: the segments stored are kept; run the same command again to resume", file=sys.stderr
        )
        return 130
    return 1 if report.errors else 0


def cmd_import_masks(args) -> int:
    from avs_studio.jobs import open_project
    from avs_studio.jobs.import_masks import import_masks

    with open_project(args.project_dir, args.database_url) as project, Bar("importing", unit="file") as bar:
        report = import_masks(
            project, args.video_id, args.folder, status=args.status, label=args.label, progress=bar
        )
    if args.json:
        print_json(report)
        return 1 if report.problems and not report.files else 0
    for problem in report.problems:
        print(f"skipped {problem.path}: {problem.reason}", file=sys.stderr)
    print(report.summary())
    return 1 if report.problems and not report.files else 0
