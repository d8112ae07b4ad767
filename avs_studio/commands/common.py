"""Arguments several commands share: ``--device`` (one parser for auto | cpu | cuda | cuda:N) and ``--json``."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any, overload

from avs_studio.validation import DEVICE_PATTERN

DEVICE_HELP = "auto | cpu | cuda | cuda:N"
PROJECT_HELP = "the project folder (made by `avs-studio init`)"


def device(text: str) -> str:
    """argparse type of ``--device``: auto, cpu, cuda or cuda:N (N a GPU index), case-insensitive."""
    value = text.strip().lower()
    if not re.match(DEVICE_PATTERN, value):
        raise argparse.ArgumentTypeError(f"invalid device {text!r}: use auto, cpu, cuda or cuda:N (e.g. cuda:1)")
    return value


def add_device(p: argparse.ArgumentParser | argparse._ArgumentGroup, what: str = "models run",
               default: str | None = "auto") -> None:  # fmt: skip
    note = f" (default {default})" if default else ""
    p.add_argument("--device", type=device, default=default, metavar=DEVICE_HELP, help=f"where {what}{note}")


class Choices(Sequence[str]):
    """argparse ``choices`` read from ``module.NAME`` when first used (parsing that option or printing its
    command's help), so `avs-studio --help` does not import the layers that define them."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name
        self._values: tuple[str, ...] | None = None

    def _load(self) -> tuple[str, ...]:
        if self._values is None:
            self._values = tuple(getattr(importlib.import_module(self.module), self.name))
        return self._values

    @overload
    def __getitem__(self, i: int) -> str: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...
    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        return self._load()[i]

    def __len__(self) -> int:
        return len(self._load())

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __contains__(self, value: object) -> bool:
        return value in self._load()


def add_json(p: argparse.ArgumentParser, what: str = "the report") -> None:
    p.add_argument("--json", action="store_true", help=f"print {what} as JSON (for scripts)")


def print_json(data: Any) -> None:
    """A report (a dataclass or a dict) as indented JSON on stdout; paths and times as text."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = dataclasses.asdict(data)
    print(json.dumps(data, indent=2, default=str, ensure_ascii=False))
