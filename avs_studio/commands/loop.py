"""The self-training loop: `engine` (which engine proposes), `quality` (how good each engine's proposals
were, from the review) and `queue` (what to review first). Thin over jobs.engine / quality / review_queue."""

from __future__ import annotations

import json
import sys

from avs_studio.commands.common import PROJECT_HELP, add_device, add_json, print_json
from avs_studio.progress import Bar


def register(sub) -> None:
    p = sub.add_parser(
        "engine",
        help="show or set the project's proposal engine (used by `propose` and the GUI's propose action)",
        description="NAME: openavs (the pipeline settings / --config), openavs:PROFILE (a built-in profile or a "
        "TOML file) or student:NAME (a trained student). Without NAME: print the engine and the choices.",
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("name", nargs="?", metavar="NAME", help="openavs | openavs:PROFILE | student:NAME")
    add_json(p, '{"engine": .., "source": .., "choices": [...]}')
    p.set_defaults(func=cmd_engine)

    p = sub.add_parser(
        "quality",
        help="mIoU / F of each engine's proposals against the masks people accepted, and the share accepted unchanged",
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("--split", help="only videos of this split")
    p.add_argument(
        "--json",
        action="store_true",
        help='print {"engines": [{"engine", "frames", "miou", "fscore", "accepted_unchanged"}, ...]}',
    )
    p.set_defaults(func=cmd_quality)

    p = sub.add_parser(
        "queue",
        help="unreviewed keyframes, most worth reviewing first (student vs OpenAVS disagreement, student uncertainty)",
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("--limit", type=int, default=20, help="how many to print (default 20; 0 = all)")
    p.add_argument(
        "--student", metavar="NAME", help="the student (default: the proposal engine, else the newest)"
    )
    p.add_argument("--video", type=int, action="append", metavar="ID", help="only this video (repeatable)")
    p.add_argument("--split", help="only videos of this split")
    add_device(p, "the student runs")
    add_json(p, "the queue")
    p.set_defaults(func=cmd_queue)


def cmd_engine(args) -> int:
    from avs_studio.jobs.engine import available_engines, proposal_engine, set_proposal_engine
    from avs_studio.jobs.project import open_project

    with open_project(args.project_dir, args.database_url) as project:
        engine = set_proposal_engine(project, args.name) if args.name else proposal_engine(project)
        choices = available_engines(project)
        if args.json:
            print_json({"engine": engine.id, "source": engine.source, "choices": choices})
            return 0
        if args.name:
            print(f"proposal engine: {engine.id}")
            return 0
        note = "" if engine.source == "setting" else " (default)"
        print(f"proposal engine: {engine.id}{note}")
        print("choices: " + ", ".join(choices))
    return 0


def cmd_quality(args) -> int:
    from avs_studio.jobs.project import open_project
    from avs_studio.jobs.quality import proposal_quality

    with open_project(args.project_dir, args.database_url) as project:
        report = proposal_quality(project, split=args.split)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0
    if not report.engines:
        print("no accepted frame has an engine's proposal yet: review some proposals first")
        return 0
    width = max(len("engine"), *(len(e.engine) for e in report.engines))
    print(f"{'engine':{width}}  frames    mIoU       F  accepted unchanged")
    for e in report.engines:
        print(
            f"{e.engine:{width}}  {e.frames:6d}  {e.miou:.4f}  {e.fscore:.4f}  {e.accepted_unchanged:>18.0%}"
        )
    return 0


def cmd_queue(args) -> int:
    from avs_studio.jobs.project import open_project
    from avs_studio.jobs.review_queue import review_queue

    with open_project(args.project_dir, args.database_url) as project, Bar("ranking", unit="video") as bar:
        queue = review_queue(
            project, args.student, video_ids=args.video, split=args.split, limit=args.limit or None,
            device=args.device, progress=bar,
        )  # fmt: skip
    for message in queue.errors:
        print(f"skipped: {message}", file=sys.stderr)
    if args.json:
        print(json.dumps(queue.as_dict(), indent=2))
        return 0
    print(f"{len(queue.items)} of {queue.unreviewed} unreviewed keyframes, ranked with {queue.student}")
    if queue.items:
        print(f"{'rank':>4}  {'video':>5}  {'frame':>6}  {'time':>8}  score  disagree  uncertain  name")
    for rank, i in enumerate(queue.items, 1):
        d = "-" if i.disagreement is None else f"{i.disagreement:.3f}"
        print(
            f"{rank:4d}  {i.video_id:5d}  {i.frame:6d}  {i.time:7.2f}s  {i.score:.3f}  {d:>8}  "
            f"{i.uncertainty:9.3f}  {i.video}"
        )
    return 0
