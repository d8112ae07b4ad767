"""`propose` (masks for a project's videos) and `translate` (descriptions -> object names, no project)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from avs_studio.commands.common import (
    PROJECT_HELP,
    add_device,
    add_executor_arguments,
    add_json,
    executor_options,
    print_execution,
)
from avs_studio.progress import Bar


class TranslateInputError(ValueError):
    """The INPUT.json of `avs-studio translate` is not in the expected shape."""


def register(sub) -> None:
    p = sub.add_parser("propose", help="propose sounding-object masks for the videos of a project")
    p.add_argument("project_dir", help=PROJECT_HELP)
    p.add_argument(
        "--config", metavar="FILE|PROFILE", help="pipeline profile (default, offline) or TOML file"
    )
    p.add_argument("--video", type=int, action="append", metavar="ID", help="only this video (repeatable)")
    p.add_argument("--split", help="only videos of this split")
    add_device(p)
    p.add_argument(
        "--engine",
        default=None,
        metavar="openavs[:PROFILE]|student:NAME",
        help="what proposes (default: OpenAVS when --config is given, else the project's engine; "
        "see `avs-studio engine`)",
    )
    add_json(p)
    add_executor_arguments(p)
    p.set_defaults(func=cmd_propose)

    p = sub.add_parser(
        "translate",
        help="turn per-frame audio descriptions into visible object names (prints JSON)",
        description='INPUT.json: {"frames": [{"describers": {"ast": "Dog; Bark"}}, ...]} ("-" reads stdin); '
        'prints {"frames": [{"objects": ["dog"]}, ...]}.',
    )
    p.add_argument("input", metavar="INPUT.json", help='the descriptions per frame ("-": standard input)')
    p.add_argument(
        "--config", metavar="FILE|PROFILE", help="pipeline profile or TOML file (its translator is used)"
    )
    add_device(p, "the translator runs")
    p.add_argument("--raw", action="store_true", help="also print the prompt and the raw answer")
    p.set_defaults(func=cmd_translate)


def cmd_propose(args) -> int:
    from avs_studio import extras
    from avs_studio.jobs import open_project
    from avs_studio.jobs.engine import EngineError, resolve_engine
    from avs_studio.jobs.propose import propose

    if args.config and args.engine and args.engine != "openavs":
        raise EngineError(
            f"--engine {args.engine} with --config {args.config}: give one (--config runs OpenAVS with it)"
        )
    options = executor_options(args)
    with open_project(args.project_dir, args.database_url) as project:
        engine = resolve_engine(project, args.engine, args.config)
        extras.require("train" if engine.kind == "student" else "models", "avs-studio propose")
        if engine.kind == "openavs" and options.kind == "local":
            # every model the profile lacks, named at once, before any work (Ray workers load their own)
            from avs_studio.openavs import load_config
            from avs_studio.openavs.model_import import require_models
            from avs_studio.openavs.weights import config_models

            profile = engine.name or args.config
            require_models(config_models(load_config(profile)), f"profile {profile or 'default'}")
        try:
            with Bar("proposing", unit="clip") as bar:
                report = propose(
                    project,
                    video_ids=args.video,
                    config=args.config,
                    split=args.split,
                    device=args.device,
                    engine=engine,
                    progress=bar,
                    executor=options,
                    resume=args.resume,
                )
        except KeyboardInterrupt:
            print(
                "the clips stored so far are kept; add --resume to the same command to go on", file=sys.stderr
            )
            raise
    data = report.as_dict() if hasattr(report, "as_dict") else dict(vars(report))
    if args.json:
        print(json.dumps(data, indent=2, default=str))
    else:
        print(
            f"proposed {data.get('clips', 0)} clips of {data.get('videos', 0)} videos: "
            f"{data.get('annotations', 0)} object masks, {data.get('empty', 0)} empty keyframes, "
            f"{data.get('skipped', 0)} reviewed keyframes left alone (run {data.get('run_id')}, "
            f"{data.get('engine')})"
        )
        run = data.get("execution") or {}
        if run.get("already_stored"):
            print(f"{run['already_stored']} clips were already stored with this configuration (--resume)")
        print_execution(run)
        for w in data.get("warnings", []):
            print(f"warning: {w}", file=sys.stderr)
    for e in data.get("errors", []):
        print(f"error: {e}", file=sys.stderr)
    return 1 if data.get("errors") else 0


INPUT_SHAPE = '{"frames": [{"describers": {"NAME": "TEXT"}}, ...]}'


def _input_problem(p, where: str) -> str:
    """One problem of a translate input (validation.Problem) as a sentence naming the frame and the key."""
    parts = [*p.table, p.key]
    frame = f"frame {int(parts[1]) + 1}" if len(parts) > 1 and str(parts[1]).isdigit() else ""
    if p.kind == "unknown":
        keys = ", ".join(map(repr, p.keys))
        return (
            f"{where}: {frame + ': ' if frame else ''}unknown key(s) {keys}; valid keys: {', '.join(p.valid)}"
        )
    found = "" if p.kind == "missing" else f", got {json.dumps(p.value, ensure_ascii=False)[:60]}"
    if frame and len(parts) == 2:
        return f"{where}: {frame} {p.text}{found}"
    if frame:
        return f'{where}: {frame} needs "describers": {{"NAME": "TEXT", ...}} (strings): `{p.key}` {p.text}{found}'
    return f"{where} must be {INPUT_SHAPE}: `{p.key}` {p.text}{found}"


def read_translate_input(text: str, where: str) -> list[dict[str, str]]:
    """The per-frame descriptions of a translate INPUT.json (translators.schema.TranslateInput)."""
    from pydantic import ValidationError

    from avs_studio.openavs.translators.schema import TranslateInput
    from avs_studio.validation import problems

    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranslateInputError(f"{where} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise TranslateInputError(f"{where} must be {INPUT_SHAPE}, got a JSON {type(data).__name__}")
    try:
        parsed = TranslateInput.model_validate(data)
    except ValidationError as exc:
        found = problems(exc, TranslateInput, data)
        raise TranslateInputError("; ".join(_input_problem(p, where) for p in found[:5])) from None
    return [dict(frame.describers) for frame in parsed.frames]


def cmd_translate(args) -> int:
    from avs_studio.openavs import TRANSLATORS, load_config
    from avs_studio.openavs.config import resolve_tiny

    where = "standard input" if args.input == "-" else args.input
    data = sys.stdin.buffer.read() if args.input == "-" else Path(args.input).read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TranslateInputError(
            f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start}); save it as UTF-8"
        ) from None
    descriptions = read_translate_input(text, where)
    cfg = load_config(args.config)
    device = cfg.device if args.device == "auto" else args.device
    translator = TRANSLATORS.create(cfg.translator.name, **resolve_tiny(cfg.translator.params), device=device)
    result = translator.translate(descriptions)
    out: dict[str, Any] = {"frames": [{"objects": p} for p in result.phrases]}
    if args.raw:
        out.update(
            translator=result.translator, attempts=result.attempts, prompt=result.prompt, raw=result.raw
        )
    print(json.dumps(out, indent=2 if args.raw else None, ensure_ascii=False))
    return 0
