"""Sub-commands of `avs-studio`. Each module has `register(subparsers)`; thin over `avs_studio.jobs`."""

import importlib

MODULES = ["project", "models", "propose", "datasets", "train", "config", "gui"]


def register_all(subparsers) -> None:
    for name in MODULES:
        try:
            module = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a command module not written yet
            if exc.name != f"{__name__}.{name}":
                raise
            continue
        module.register(subparsers)
