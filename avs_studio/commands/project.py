"""`init`, `add` and `status`: create a project, register videos, list them."""

from __future__ import annotations

import json
import sys

from avs_studio.commands.common import PROJECT_HELP, add_json, print_json
from avs_studio.progress import Bar


def register(sub) -> None:
    p = sub.add_parser("init", help="create a project folder and its database")
    p.add_argument("project_dir", help=PROJECT_HELP)
    add_json(p, '{"project": .., "database": ..}')
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("add", help="register video files (undecodable files are reported and skipped)")
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files (mp4, mkv, ...)")
    p.add_argument("--split", help="dataset split to record (train/val/test)")
    p.add_argument("--category", help="category to record")
    add_json(p, '{"added": [[path, id]], "existing": [...], "skipped": [[path, why]]}')
    p.set_defaults(func=cmd_add)

    p = sub.add_parser(
        "relink", help="tell the project where a moved video is now (the file's sha256 must match)"
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("video_id", type=int, metavar="VIDEO_ID", help="the video's id (see `status`)")
    p.add_argument("path", metavar="PATH", help="the video file at its new place")
    p.add_argument(
        "--force",
        action="store_true",
        help="accept other content with the same frames and size (a re-encode)",
    )
    add_json(p, "the video's new row")
    p.set_defaults(func=cmd_relink)

    p = sub.add_parser("status", help="list the videos of a project with annotation counts")
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("--json", action="store_true", help='print {"videos": [...]}')
    p.add_argument(
        "--by-annotator", action="store_true", help="progress per annotator (see `avs-studio assign`)"
    )
    p.set_defaults(func=cmd_status)


def cmd_init(args) -> int:
    from avs_studio.jobs import init_project

    with init_project(args.project_dir, args.database_url) as project:
        where, url = project.dir, project.store.url
    if args.json:
        print_json({"project": str(where), "database": str(url)})
    else:
        print(f"created project {where} ({url})")
    return 0


def cmd_add(args) -> int:
    from avs_studio.jobs import add_videos, open_project

    with open_project(args.project_dir, args.database_url) as project:
        with Bar("adding", unit="video") as bar:
            report = add_videos(project, args.videos, split=args.split, category=args.category, progress=bar)
    if args.json:
        print_json(report)
        return 1 if report.skipped else 0
    for path, video_id in report.added:
        print(f"added {path} as video {video_id}")
    for path, _id, why in report.existing:
        print(f"kept {path}: {why}")
    for path, reason in report.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if report.skipped:
        print(f"avs-studio: {len(report.skipped)} file(s) were not added (see above)", file=sys.stderr)
        return 1
    return 0


def cmd_relink(args) -> int:
    from avs_studio.jobs import open_project
    from avs_studio.jobs.relink import relink

    with open_project(args.project_dir, args.database_url) as project:
        row = relink(project, args.video_id, args.path, force=args.force)
    if args.json:
        print_json(row)
        return 0
    print(f"video {row.id} ({row.name}) now reads {row.path}")
    return 0


def cmd_status(args) -> int:
    from avs_studio.jobs import open_project, project_status

    if args.by_annotator:
        return _status_by_annotator(args)
    with open_project(args.project_dir, args.database_url) as project:
        rows = project_status(project)
        owners = {a.video_id: a.annotator for a in project.store.assignments.rows()}
    for r in rows:
        r["assigned_to"] = owners.get(r["id"])
    if args.json:
        print(json.dumps({"videos": rows}, indent=2))
        return 0
    if not rows:
        print("no videos; add some with `avs-studio add PROJECT_DIR VIDEO...`")
        return 0
    missing = [r for r in rows if r["missing"]]
    head = f"{'id':>4}  {'frames':>7}  {'fps':>6}  {'dur s':>7}  {'audio':5}  {'split':6}  {'category':12}  status"
    print(head)
    for r in rows:
        status = ", ".join(f"{k} {n}" for k, n in sorted(r["annotations"].get("status", {}).items())) or "-"
        print(
            f"{r['id']:>4}  {r['frames']:>7}  {r['fps']:>6.2f}  {r['duration']:>7.2f}  "
            f"{'yes' if r['has_audio'] else 'no':5}  {r['split'] or '-':6}  {r['category'] or '-':12}  "
            f"{status}  {r['path']}"
            + (f"  [{r['assigned_to']}]" if r["assigned_to"] else "")
            + ("  (MISSING)" if r["missing"] else "")
        )
    if missing:
        print(
            f"{len(missing)} video file(s) not found; point the project at them with "
            f"`avs-studio relink {args.project_dir} VIDEO_ID PATH`",
            file=sys.stderr,
        )
    return 0


def _status_by_annotator(args) -> int:
    from dataclasses import asdict

    from avs_studio.jobs import open_project
    from avs_studio.jobs.assign import by_annotator

    with open_project(args.project_dir, args.database_url) as project:
        rows = by_annotator(project)
    if args.json:
        print(
            json.dumps(
                {"annotators": [{**asdict(r), "percent": round(r.percent, 1)} for r in rows]}, indent=2
            )
        )
        return 0
    if not rows:
        print("no videos; add some with `avs-studio add PROJECT_DIR VIDEO...`")
        return 0
    print(
        f"{'annotator':20}  {'videos':>6}  {'done':>5}  {'keyframes':>9}  {'reviewed':>8}  {'to review':>9}  {'%':>5}"
    )
    for r in rows:
        print(
            f"{r.annotator:20}  {r.videos:>6}  {r.done_videos:>5}  {r.keyframes:>9}  {r.reviewed:>8}  "
            f"{r.pending:>9}  {r.percent:>5.1f}"
        )
    return 0
