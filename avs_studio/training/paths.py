"""Where a student model's files live (torch-free, so the GUI and jobs can ask without loading torch)."""

from __future__ import annotations

import re
from pathlib import Path

CHECKPOINT_FILE = "checkpoint.pt"  # resume state: model, optimiser, scheduler, RNG, epoch
MODEL_FILE = "model.pt"  # the finished model
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def model_dir(project_dir: str | Path, name: str) -> Path:
    if not NAME_PATTERN.match(name):
        raise ValueError(f"model name {name!r} must be letters, digits, '.', '_' or '-' (at most 100)")
    return Path(project_dir) / "models" / name
