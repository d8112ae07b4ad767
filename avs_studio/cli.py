"""`avs-studio` command line: thin over avs_studio.jobs (see `avs-studio --help`)."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from avs_studio import __version__, extras
from avs_studio.commands import register_all

# checked before the command runs
COMMAND_EXTRA = {"train": "train", "predict": "train", "propose": "models", "queue": "train"}


def _needed_extras(args: argparse.Namespace) -> list[str]:
    """The pip extras a command line needs (avs_studio.extras), so a missing one is named before any work."""
    needed = [COMMAND_EXTRA[args.command]] if args.command in COMMAND_EXTRA else []
    if args.command == "propose":
        engine = getattr(args, "engine", None)
        if str(engine).startswith("student"):
            needed = ["train"]
        elif engine is None and not getattr(args, "config", None):
            needed = []  # the project's engine decides: `propose` checks once it has resolved it
    if getattr(args, "executor", None) == "ray":
        needed.append("cluster")
    if str(getattr(args, "database_url", None) or "").startswith("postgresql"):
        needed.append("postgres")
    return needed


class CommandError(Exception):
    """A command failed in a way the user can fix; printed without a traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avs-studio",
        description="AVS Studio: annotate audio-visual segmentation data (OpenAVS proposals, review, "
        "export, self-training).",
    )
    parser.add_argument("--version", action="version", version=f"avs-studio {__version__}")
    _database_url(parser, None)
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    register_all(sub)
    for (
        command
    ) in sub.choices.values():  # `avs-studio --database-url U status P` = `status P --database-url U`
        _database_url(command, argparse.SUPPRESS)
    return parser


def _database_url(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument(
        "--database-url",
        metavar="URL",
        default=default,
        help="use this database (e.g. postgresql+psycopg://user:pw@host/db) instead of PROJECT/project.db",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(message)s")
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        for extra in _needed_extras(args):
            extras.require(extra, f"avs-studio {args.command}")
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("avs-studio: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # typed domain errors carry a message meant for the user
        if isinstance(exc, ImportError):  # an optional extra is not installed: name it and the pip command
            exc = (
                extras.from_import_error(exc, f"avs-studio {args.command}", COMMAND_EXTRA.get(args.command))
                or exc
            )
        if args.verbose or not _is_user_error(exc):
            raise
        print(f"avs-studio: error: {exc}", file=sys.stderr)
        return 1


def _is_user_error(exc: Exception) -> bool:
    """Errors of our own layers (and OS errors on user paths) print one clear line, not a traceback."""
    module = type(exc).__module__ or ""
    return module.startswith("avs_studio") or isinstance(exc, (OSError, CommandError))


if __name__ == "__main__":
    raise SystemExit(main())
