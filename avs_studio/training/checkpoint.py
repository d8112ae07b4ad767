"""Checkpoints of the student: written atomically, read with a clear error naming the file.

``checkpoint.pt`` holds everything a resume needs (model, optimizer, scheduler, RNG, epoch, position);
``model.pt`` holds the finished model (weights, model config, metrics) for inference. Both are plain
tensors and builtins, loaded with ``weights_only=True`` (never arbitrary pickles).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from avs_studio.atomic import atomic_open
from avs_studio.training.model import StudentConfig, StudentNet, build_model

FORMAT = "avs-studio-student-1"


class CheckpointError(Exception):
    """A checkpoint is missing, unreadable or not a student checkpoint (message names the file)."""

    def __init__(self, path: str | os.PathLike, message: str):
        super().__init__(f"{path}: {message}")
        self.path = str(path)


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    with atomic_open(path, "wb") as f:
        torch.save({"format": FORMAT, **state}, f)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(path, "checkpoint not found; train this model first (or check the name)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            path, f"checkpoint is corrupt or unreadable ({type(exc).__name__}); delete it and train again"
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CheckpointError(path, "not an AVS Studio student checkpoint")
    return state


def load_student(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[StudentNet, dict[str, Any]]:
    """The model of a ``model.pt`` or ``checkpoint.pt`` (eval mode, on ``device``) and the file's state."""
    state = load_checkpoint(path)
    try:
        model = build_model(StudentConfig.from_dict(state["model_config"]))
        model.load_state_dict(state["model"])
    except (KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(path, f"checkpoint does not match the student model ({exc})") from exc
    return model.to(device).eval(), state
