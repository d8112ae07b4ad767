"""Command-line conventions, checked over the whole argparse tree: every positional and option has help
text, every ``--device`` takes auto | cpu | cuda | cuda:N through the one shared type, and every command
that reports something has ``--json``."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

import pytest

from avs_studio.cli import build_parser
from avs_studio.commands.common import device

# commands whose output is a report (a script wants it as JSON); `translate` and `config schema` print
# JSON always, `gui` and `demo-data`'s siblings open windows or write files only.
JSON_COMMANDS = {
    "init", "add", "relink", "status", "assign", "unassign", "import-avsbench", "export", "eval", "propose",
    "propagate", "import-masks", "engine", "quality", "queue", "train", "predict", "demo-data",
    "accept-clip", "copy-keyframe", "resegment", "models list", "models download", "models verify",
    "models import", "models info", "config check",
}  # fmt: skip
DEVICE_COMMANDS = {"propose", "translate", "queue", "train", "predict", "resegment", "propagate"}


def _commands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                path = f"{prefix} {name}".strip()
                yield path, sub
                yield from _commands(sub, path)


def _arguments(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._VersionAction | argparse._SubParsersAction):
            continue
        yield action


def test_every_positional_and_option_has_help() -> None:
    missing = []
    for path, parser in [("", build_parser()), *_commands(build_parser())]:
        for action in _arguments(parser):
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(f"`avs-studio {path}` {action.option_strings or action.dest}")
    assert not missing, "arguments without help text:\n" + "\n".join(missing)


def test_every_command_that_reports_has_json() -> None:
    commands = dict(_commands(build_parser()))
    assert JSON_COMMANDS <= set(commands), JSON_COMMANDS - set(commands)
    without = [c for c in sorted(JSON_COMMANDS) if "--json" not in commands[c]._option_string_actions]
    assert not without, f"no --json: {without}"


def test_every_device_option_uses_the_shared_type() -> None:
    found = {}
    for path, parser in _commands(build_parser()):
        action = parser._option_string_actions.get("--device")
        if action is not None:
            found[path] = action
    assert set(found) == DEVICE_COMMANDS, set(found) ^ DEVICE_COMMANDS
    for path, action in found.items():
        assert action.type is device, f"`{path} --device` does not use commands.common.device"
        assert not action.choices, f"`{path} --device` lists choices: cuda:N would be refused"


@pytest.mark.parametrize(
    "argv",
    [
        ["propose", "P", "--device", "cuda:1"],
        ["train", "P", "--name", "s", "--device", "CUDA:0"],
        ["predict", "P", "OUT", "--name", "s", "--device", "cuda:3"],
        ["queue", "P", "--device", "cuda:2"],
        ["translate", "in.json", "--device", "cuda:1"],
        ["resegment", "P", "1", "0", "--phrases", "dog", "--device", "cuda:1"],
        ["propagate", "P", "--device", "cuda:1"],
    ],
)
def test_device_accepts_cuda_n(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.device.startswith("cuda:") and args.device == args.device.lower()


@pytest.mark.parametrize("bad", ["gpu", "cuda:", "cuda:x", "cuda1", "cpu:0", ""])
def test_device_refuses_other_names(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        build_parser().parse_args(["propose", "P", "--device", bad])
    assert exc.value.code == 2
    assert "use auto, cpu, cuda or cuda:N" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["auto", "cpu", "cuda", "cuda:0", "cuda:12", " Cuda:1 "])
def test_device_type(value: str) -> None:
    assert device(value) == value.strip().lower()
