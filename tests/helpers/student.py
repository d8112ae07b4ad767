"""A tiny random-initialised student written as a finished model (PROJECT/models/NAME/model.pt) through the
trainer's own checkpoint writer, so jobs load it the way they load a trained one."""

from __future__ import annotations

from pathlib import Path

import torch

from avs_studio.training.checkpoint import save_checkpoint
from avs_studio.training.model import StudentConfig, build_model
from avs_studio.training.paths import MODEL_FILE, model_dir

TINY = dict(
    image_size=32, width=8, decoder_channels=16, audio_dim=16, audio_tokens=2, heads=2, audio_frames=20
)


def make_student(
    project, name: str, seed: int = 0, record: bool = True, config: StudentConfig | None = None
) -> Path:
    """Write the model (``config``: default a tiny one); with ``record``, also a finished training run of
    that name (as `train` leaves)."""
    cfg = config or StudentConfig(**TINY)
    torch.manual_seed(seed)
    path = model_dir(project.dir, name) / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(
        path, {"model": build_model(cfg).state_dict(), "model_config": cfg.to_dict(), "metrics": {}}
    )
    if record:
        run = project.store.add_training_run(name, {})
        project.store.update_training_run(run, status="done", checkpoint=str(path))
    return path
