"""Sub-commands of `avs-studio`. Each module has `register(subparsers)`; thin over `avs_studio.jobs`."""

import importlib
from typing import Any

MODULES = [
    "project",
    "assign",
    "models",
    "propose",
    "review",
    "masks",
    "datasets",
    "train",
    "loop",
    "config",
    "gui",
]


def register_all(subparsers: Any) -> None:
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
