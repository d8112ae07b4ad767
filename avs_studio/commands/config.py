"""`config schema KIND` (JSON schema of a profile, the settings, the translate input, the LLM answer) and
`config check PROFILE|FILE|PROJECT` (a profile checked without running it; a project's stored settings)."""

from __future__ import annotations

import json
import sys
from typing import Any

SCHEMAS = ("profile", "project-settings", "user-settings", "translate-input", "llm-answer")


def register(sub) -> None:
    p = sub.add_parser("config", help="JSON schemas of profiles and settings; check a profile or a project")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")

    q = csub.add_parser(
        "schema",
        help="print a JSON schema (e.g. for an editor checking a profile as it is typed)",
        description="A profile is TOML; editors with a TOML language server (Taplo, Even Better TOML) "
        "validate it against this schema.",
    )
    q.add_argument("kind", nargs="?", default="profile", choices=SCHEMAS, help="what the schema describes")
    q.add_argument("--frames", type=int, default=5, metavar="N", help="llm-answer: frames per clip (5)")
    q.set_defaults(func=cmd_schema)

    q = csub.add_parser("check", help="check a pipeline profile, or a project's stored settings")
    q.add_argument(
        "target", metavar="PROFILE|FILE|PROJECT", help="a built-in profile, a TOML file or a project"
    )
    q.add_argument("--json", action="store_true", help="print the result as JSON")
    q.set_defaults(func=cmd_check)

    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def schema(kind: str, frames: int = 5) -> dict[str, Any]:
    """The JSON schema of ``kind`` (one of SCHEMAS)."""
    if kind == "profile":
        from avs_studio.openavs.schema import profile_schema

        return profile_schema()
    if kind == "llm-answer":
        from avs_studio.openavs.translators.schema import answer_model

        return answer_model(max(1, frames)).model_json_schema()
    if kind == "translate-input":
        from avs_studio.openavs.translators.schema import TranslateInput

        return TranslateInput.model_json_schema()
    from avs_studio.settings import ProjectSettings, UserSettings

    model = ProjectSettings if kind == "project-settings" else UserSettings
    return model.model_json_schema(by_alias=True)


def cmd_schema(args) -> int:
    print(json.dumps(schema(args.kind, args.frames), indent=2))
    return 0


def cmd_check(args) -> int:
    from avs_studio.jobs.project import is_project

    if is_project(args.target):
        from avs_studio import settings
        from avs_studio.jobs import open_project

        with open_project(args.target, args.database_url) as project:
            found = settings.check(project.store)
        if args.json:
            print(json.dumps({"project": args.target, "problems": found}, indent=2))
        for line in found if not args.json else []:
            print(f"{line}; the default is used", file=sys.stderr)
        if not args.json and not found:
            print(f"{args.target}: every stored setting is valid")
        return 1 if found else 0
    from avs_studio.openavs import load_config

    cfg = load_config(args.target)  # ConfigError names the file, the key and what is valid
    if args.json:
        print(json.dumps(cfg.to_dict(), indent=2))
    else:
        stages = ", ".join(d.name for d in cfg.describers)
        print(
            f"{args.target}: valid (describers {stages}; translator {cfg.translator.name}; "
            f"segmenter {cfg.segmenter.name}; point segmenter "
            f"{cfg.point_segmenter.name if cfg.point_segmenter else 'none'})"
        )
    return 0
