"""Arguments several commands share: ``--device`` (one parser for auto | cpu | cuda | cuda:N), ``--json``
and ``--executor`` with its options."""

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
        raise argparse.ArgumentTypeError(
            f"invalid device {text!r}: use auto, cpu, cuda or cuda:N (e.g. cuda:1)"
        )
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


def add_executor_arguments(p: argparse.ArgumentParser, resume: bool = True) -> None:
    """--executor and its options (propose, propagate): see avs_studio.jobs.executor. ``resume``: add
    --resume (a job that always resumes, like propagate, has none)."""
    g = p.add_argument_group("where clips run (docs/scale-out.md)")
    g.add_argument(
        "--executor",
        default="local",
        choices=["local", "ray"],
        help="this process (default) or a Ray cluster",
    )
    g.add_argument(
        "--address", metavar="auto|ray://HOST:PORT", help="Ray cluster to use (default: start Ray here)"
    )
    g.add_argument("--workers", type=int, metavar="N", help="Ray workers (default: what the cluster holds)")
    g.add_argument(
        "--gpus-per-worker", type=float, metavar="G", help="GPUs per Ray worker (default: 1 if it has GPUs)"
    )
    g.add_argument("--retries", type=int, default=2, metavar="N", help="tries more of a failing clip (2)")
    if resume:
        g.add_argument(
            "--resume", action="store_true", help="skip clips already stored with the same configuration"
        )


def executor_options(args: argparse.Namespace) -> Any:
    """ExecutorOptions of the parsed --executor arguments."""
    from avs_studio.jobs.executor import ExecutorOptions

    if args.executor == "local" and (args.address or args.workers or args.gpus_per_worker is not None):
        from avs_studio.jobs.executor import ExecutorError

        raise ExecutorError("--address, --workers and --gpus-per-worker need --executor ray")
    return ExecutorOptions(
        kind=args.executor, address=args.address, workers=args.workers,
        gpus_per_worker=args.gpus_per_worker, retries=args.retries,
    )  # fmt: skip


def print_execution(run: dict[str, Any], unit: str = "clips") -> None:
    """One line on how an executor run went (workers, rate, retries), when it ran."""
    if run.get("seconds"):
        print(
            f"{run['executor']}: {run.get('workers', 0)} worker(s), {run['clips_per_s']:.2f} {unit}/s, "
            f"{run.get('retried', 0)} retried, {run.get('requeued', 0)} re-queued from lost workers, "
            f"{run.get('failed', 0)} failed"
        )
