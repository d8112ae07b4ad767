"""`accept-clip`, `copy-keyframe`, `resegment`: the review actions of the window's keys (Shift+A, C, T),
from the command line. Same functions as the GUI (avs_studio.jobs.review / jobs.resegment), so the same
rules: one undo step each; a reviewed or edited frame is never re-segmented. Frames are 0-based."""

from __future__ import annotations

import json
from typing import Any

from avs_studio.commands.common import PROJECT_HELP, add_device, add_json


def register(sub: Any) -> None:
    p = sub.add_parser("accept-clip", help="accept every proposed or edited mask of the clip holding a frame")
    _common(p)
    p.add_argument(
        "--config", metavar="FILE|PROFILE", help="profile whose clip length applies (default: the project's)"
    )
    p.set_defaults(func=cmd_accept_clip)

    p = sub.add_parser(
        "copy-keyframe", help="copy the previous keyframe's masks onto a frame (status edited)"
    )
    _common(p)
    p.set_defaults(func=cmd_copy_keyframe)

    p = sub.add_parser(
        "resegment", help="segment one frame again with these phrases, replacing its proposals"
    )
    _common(p)
    p.add_argument(
        "--phrases", required=True, help='comma-separated, e.g. "dog, piano" ("" = nothing sounds)'
    )
    p.add_argument(
        "--config", metavar="FILE|PROFILE", help="pipeline profile or TOML file (default: the project's)"
    )
    add_device(p, "the segmenter runs")
    p.set_defaults(func=cmd_resegment)


def _common(p: Any) -> None:
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument("video", type=int, metavar="VIDEO_ID", help="the video's id (see `status`)")
    p.add_argument("frame", type=int, metavar="FRAME", help="0-based frame index")
    add_json(p, "the result")


def _print(args: Any, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data) if args.json else text)


def cmd_accept_clip(args: Any) -> int:
    from avs_studio.jobs import open_project
    from avs_studio.jobs.clips import clip_length, project_profile
    from avs_studio.jobs.review import accept_clip

    with open_project(args.project_dir, args.database_url) as project:
        size = clip_length(args.config or project_profile(project))
        report = accept_clip(project, args.video, args.frame, clip_keyframes=size)
    data = {"first": report.first, "end": report.end, "accepted": report.accepted}
    _print(args, data, f"accepted {report.accepted} mask(s) in frames {report.first}–{report.end - 1}")
    return 0


def cmd_copy_keyframe(args: Any) -> int:
    from avs_studio.jobs import open_project
    from avs_studio.jobs.review import copy_previous_keyframe

    with open_project(args.project_dir, args.database_url) as project:
        report = copy_previous_keyframe(project, args.video, args.frame)
    if report.source is None:
        _print(args, {"source": None, "copied": 0}, f"no keyframe before frame {args.frame}: nothing copied")
        return 1
    data = {"source": report.source, "copied": report.copied}
    _print(args, data, f"copied {report.copied} mask(s) from keyframe {report.source} to frame {args.frame}")
    return 0


def cmd_resegment(args: Any) -> int:
    from avs_studio.jobs import open_project
    from avs_studio.jobs.clips import project_profile
    from avs_studio.jobs.propose import llm_settings
    from avs_studio.jobs.resegment import phrase_list, resegment_frame
    from avs_studio.openavs import Pipeline, load_config

    phrases = phrase_list(args.phrases)
    with open_project(args.project_dir, args.database_url) as project:
        config = load_config(args.config or project_profile(project), llm=llm_settings(project))
        pipeline = Pipeline.from_config(config, device=args.device)
        counts = resegment_frame(project, args.video, args.frame, phrases, pipeline)
    data = {"annotations": counts.annotations, "empty": counts.empty, "skipped": counts.skipped}
    if counts.skipped:
        text = f"frame {args.frame} was reviewed or edited: its masks were kept"
    else:
        text = f"frame {args.frame}: {counts.annotations} proposal(s) stored"
    _print(args, data, text)
    return 0
