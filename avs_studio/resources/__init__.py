"""The bundled resources: model registry (models.toml), pipeline profiles, sound-source vocabulary and the
sample clip. They are package data of ``avs_studio.resources`` and found with ``importlib.resources``, so a
source checkout, an editable install, a wheel, a ``--user`` or a system install all find them the same way.
"""

from __future__ import annotations

import os
from importlib import resources as _resources
from pathlib import Path

ENV = "AVS_STUDIO_RESOURCES"  # another folder of the same layout (tests, packagers)


class ResourceError(FileNotFoundError):
    """A bundled resource is missing: the install is incomplete."""


def resources_dir() -> Path:
    """``$AVS_STUDIO_RESOURCES`` if set, else this package's folder as importlib.resources finds it."""
    env = os.environ.get(ENV)
    if env:
        return Path(env)
    root = _resources.files(__name__)
    if isinstance(root, Path):
        return root
    # A loader that is not a plain folder (zip import): the files have no path to hand to other libraries.
    raise ResourceError(
        f"AVS Studio's resources are inside {root!s}, not a folder; install it unpacked (pip install) "
        f"or set {ENV} to a copy of avs_studio/resources"
    )


def resource(*parts: str) -> Path:
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise ResourceError(f"bundled resource {path} is missing; reinstall AVS Studio or set {ENV}")
    return path
