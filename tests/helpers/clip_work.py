"""Clip work functions for executor tests and benchmarks (picklable, importable by Ray workers).

``SleepWork``: an I/O-bound fake pipeline: each clip sleeps, then answers one rectangle per keyframe
(placed by video and frame, so every clip's masks are known); ``fail_on`` clips always raise.
``SlowWork``: a real work (OpenAVSWork) slowed down per clip; both write their worker's pid into
``pid_dir`` when built, so a test can kill a worker mid-run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from avs_studio.jobs.executor import ClipTask
from avs_studio.jobs.propose_batch import ClipOutput
from avs_studio.store import FrameMasks


def rectangle(video_id: int, frame: int, shape: tuple[int, int]) -> np.ndarray:
    h, w = shape
    m = np.zeros(shape, bool)
    x, y = (video_id * 7 + frame * 3) % max(1, w - 8), (video_id * 5 + frame) % max(1, h - 8)
    m[y : y + 8, x : x + 8] = True
    return m


def _note_pid(pid_dir: str | None) -> None:
    if pid_dir:
        Path(pid_dir, str(os.getpid())).write_text("")


@dataclass(frozen=True)
class SleepWork:
    seconds: float = 0.1
    fail_on: tuple[tuple[int, int], ...] = ()  # task keys (video id, first frame) that always raise
    pid_dir: str | None = None

    def build(self) -> SleepClips:
        _note_pid(self.pid_dir)
        return SleepClips(self)


class SleepClips:
    def __init__(self, work: SleepWork):
        self.work = work

    def __call__(self, tasks: Iterable[ClipTask]) -> Iterator[ClipOutput]:
        for t in tasks:
            time.sleep(self.work.seconds)
            if t.key in self.work.fail_on:
                raise RuntimeError("this clip always fails")
            shape = (t.video.height, t.video.width)
            frames = [FrameMasks(f, [("thing", rectangle(t.video.id, f, shape), 1.0)]) for f in t.frames]
            yield ClipOutput.pack(frames, shape, {"frames": list(t.frames)}, {"fake": "sleep"})


@dataclass(frozen=True)
class SlowWork:
    inner: Any
    seconds: float
    pid_dir: str | None = None

    def build(self):
        _note_pid(self.pid_dir)
        fn = self.inner.build()
        seconds = self.seconds

        def slow(tasks: Iterable[ClipTask]) -> Iterator[Any]:
            def paced() -> Iterator[ClipTask]:
                for t in tasks:
                    time.sleep(seconds)
                    yield t

            yield from fn(paced())

        return slow


def random_student(project_dir: str | Path, name: str, seed: int = 0) -> Path:
    """A small random-initialised student saved where a trained one goes (PROJECT/models/NAME/model.pt)."""
    import torch

    from avs_studio.training.checkpoint import save_checkpoint
    from avs_studio.training.model import StudentConfig, build_model
    from avs_studio.training.paths import model_dir

    torch.manual_seed(seed)
    cfg = StudentConfig(image_size=32, width=8, decoder_channels=16, audio_dim=16, audio_frames=50)
    model = build_model(cfg)
    path = model_dir(project_dir, name) / "model.pt"
    return save_checkpoint(path, {"model_config": cfg.to_dict(), "model": model.state_dict(), "metrics": {}})
