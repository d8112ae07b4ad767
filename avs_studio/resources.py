"""Where the bundled resources (model registry, profiles, vocabulary, sample media) live."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def resources_dir() -> Path:
    """`AVS_STUDIO_RESOURCES` if set, else `resources/` beside the package (source and editable
    installs), else the data files of a wheel install (`<prefix>/share/avs-studio/resources`)."""
    env = os.environ.get("AVS_STUDIO_RESOURCES")
    if env:
        return Path(env)
    beside = Path(__file__).resolve().parent.parent / "resources"
    if beside.is_dir():
        return beside
    return Path(sys.prefix) / "share" / "avs-studio" / "resources"


def resource(*parts: str) -> Path:
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"bundled resource {path} is missing; reinstall AVS Studio or set AVS_STUDIO_RESOURCES"
        )
    return path
