"""`assign` and `unassign`: give videos to annotators (progress: `status --by-annotator`)."""

from __future__ import annotations

from avs_studio.commands.common import PROJECT_HELP, add_json, print_json


def register(sub) -> None:
    p = sub.add_parser(
        "assign",
        help="give videos to an annotator (they come first in that person's queue)",
        description="Give videos to an annotator: --video IDs, or the first --count N unassigned videos "
        "(of --split S), or every unassigned video of --split S. A video has at most one annotator.",
    )
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("--to", required=True, metavar="NAME", help="the annotator (their login name)")
    p.add_argument("--video", type=int, action="append", metavar="ID", help="this video (repeatable)")
    p.add_argument("--split", help="unassigned videos of this split")
    p.add_argument("--count", type=int, metavar="N", help="at most N unassigned videos")
    p.add_argument("--replace", action="store_true", help="take --video ones from whoever has them now")
    add_json(p, '{"annotator": .., "assigned": [ids], "total": n}')
    p.set_defaults(func=cmd_assign)

    p = sub.add_parser("unassign", help="take videos back from their annotator")
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("--video", type=int, action="append", metavar="ID", help="this video (repeatable)")
    p.add_argument("--from", dest="annotator", metavar="NAME", help="every video of this annotator")
    add_json(p, '{"released": n}')
    p.set_defaults(func=cmd_unassign)


def cmd_assign(args) -> int:
    from avs_studio.jobs import open_project
    from avs_studio.jobs.assign import assign

    with open_project(args.project_dir, args.database_url) as project:
        given = assign(
            project, args.to, video_ids=args.video, split=args.split, count=args.count, replace=args.replace
        )
        total = len(project.store.assignments.rows(args.to))
    if args.json:
        print_json({"annotator": args.to, "assigned": list(given), "total": total})
        return 0
    ids = ", ".join(map(str, given)) or "none"
    print(f"assigned {len(given)} video(s) to {args.to}: {ids} ({total} in all)")
    return 0


def cmd_unassign(args) -> int:
    from avs_studio.jobs import open_project
    from avs_studio.jobs.assign import unassign

    with open_project(args.project_dir, args.database_url) as project:
        n = unassign(project, video_ids=args.video, annotator=args.annotator)
    if args.json:
        print_json({"released": n})
        return 0
    print(f"released {n} video(s)")
    return 0
