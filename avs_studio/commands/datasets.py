"""`import-avsbench`, `export` and `eval`: datasets in and out, and AVSBench scores."""

from __future__ import annotations

import argparse
import json
import sys

from avs_studio.commands.common import PROJECT_HELP, Choices, add_json, print_json
from avs_studio.progress import Bar

SUBSETS = Choices("avs_studio.io.avsbench", "SUBSETS")
FORMATS = Choices("avs_studio.io.writers", "FORMATS")
TASKS = Choices("avs_studio.jobs.evaluate", "TASKS")
PROTOCOLS = Choices("avs_studio.jobs.evaluate", "PROTOCOLS")
STATUS_CHOICES = Choices("avs_studio.jobs.exporting", "STATUS_CHOICES")
SOURCES = Choices("avs_studio.store", "SOURCES")


def register(sub) -> None:
    p = sub.add_parser(
        "import-avsbench",
        help="import an AVSBench S4 / MS3 / AVSS folder (clips become videos, GT masks accepted annotations)",
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument(
        "root", help="the AVSBench folder (with s4_meta_data.csv, ms3_meta_data.csv or metadata.csv)"
    )
    p.add_argument(
        "--subset", required=True, choices=SUBSETS, metavar="SUBSET",
        help="which AVSBench subset the folder holds: %(choices)s",
    )
    p.add_argument("--split", help="comma-separated splits to import (default: all)")
    add_json(p)
    p.set_defaults(func=cmd_import)

    p = sub.add_parser(
        "export", help="export annotations as a dataset (written atomically, with manifest.json)"
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("out", help="output folder (must be empty or absent unless --force)")
    p.add_argument(
        "--format", required=True, choices=FORMATS, dest="fmt", metavar="FORMAT",
        help="dataset layout to write: %(choices)s",
    )
    p.add_argument(
        "--status", default="accepted", choices=STATUS_CHOICES, metavar="STATUS",
        help="annotations to export: %(choices)s (default accepted; 'any' = proposed, edited and accepted, "
        "never rejected)",
    )  # fmt: skip
    p.add_argument("--split", help="only videos of this split")
    p.add_argument(
        "--source", action="append", choices=SOURCES, metavar="SOURCE",
        help="only annotations from this source (repeatable): %(choices)s",
    )  # fmt: skip
    p.add_argument(
        "--resplit",
        metavar="TRAIN,VAL,TEST",
        type=_ratios,
        help="re-split videos by a seeded hash, e.g. 0.8,0.1,0.1",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of --resplit (default 0)")
    p.add_argument("--with-frames", action="store_true", help="coco / png: also write the frame images")
    p.add_argument("--force", action="store_true", help="replace a non-empty output folder")
    add_json(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("eval", help="AVSBench mIoU and F-score of prediction PNGs against ground-truth PNGs")
    p.add_argument("pred", help="folder of predictions (same relative paths as GT)")
    p.add_argument("gt", help="folder of ground-truth masks")
    p.add_argument(
        "--task", default="binary", choices=TASKS, metavar="TASK",
        help="%(choices)s: binary masks or AVSS class masks (default binary)",
    )
    p.add_argument(
        "--protocol", default="avsbench", choices=PROTOCOLS, metavar="PROTOCOL",
        help="how frames are averaged: %(choices)s (default avsbench)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help='print {"miou": .., "fscore": .., "frames": ..}')
    p.set_defaults(func=cmd_eval)


def _ratios(text: str) -> tuple[float, float, float]:
    try:
        from avs_studio.io.writers import parse_ratios

        return parse_ratios(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_import(args) -> int:
    from avs_studio.jobs.importing import import_avsbench
    from avs_studio.jobs.project import open_project

    splits = [s.strip() for s in args.split.split(",") if s.strip()] if args.split else None
    with open_project(args.project_dir, args.database_url) as project:
        with Bar("importing", unit="clip") as bar:
            report = import_avsbench(project, args.root, args.subset, splits, progress=bar)
    if args.json:
        print_json(report)
        return 1 if report.problems and not (report.videos_added or report.videos_existing) else 0
    for problem in report.problems:
        print(f"skipped {problem.path}: {problem.reason}", file=sys.stderr)
    print(report.summary())
    return 1 if report.problems and not (report.videos_added or report.videos_existing) else 0


def cmd_export(args) -> int:
    from avs_studio.jobs.exporting import export_dataset
    from avs_studio.jobs.project import open_project

    ratios = args.resplit
    with open_project(args.project_dir, args.database_url) as project, Bar("exporting", unit="video") as bar:
        report = export_dataset(
            project, args.out, args.fmt, status=args.status, split=args.split, source=args.source,
            resplit_ratios=ratios, seed=args.seed, force=args.force, write_frames=args.with_frames,
            progress=bar,
        )  # fmt: skip
    if args.json:
        print_json(report)
        return 0
    print(report.summary())
    return 0


def cmd_eval(args) -> int:
    from avs_studio.jobs.evaluate import evaluate_folders

    with Bar("evaluating", unit="video") as bar:
        result = evaluate_folders(args.pred, args.gt, task=args.task, protocol=args.protocol, progress=bar)
    if args.json:
        print(json.dumps(result))
    else:
        print(f"mIoU {result['miou']:.4f}  F-score {result['fscore']:.4f}  ({result['frames']} frames)")
    return 0
