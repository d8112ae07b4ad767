"""Student training throughput on this CPU: samples per second of the real training step (augmentation,
forward, BCE + Dice, backward, AdamW) through `avs_studio.training.loop.fit`, and inference frames/s.

    python -m tests.benchmarks.bench_training [--quick]
"""

from __future__ import annotations

import sys
import tempfile
import time

import numpy as np
import torch

from avs_studio.io.demo import SHAPES, _layout, _render
from avs_studio.training.loop import LoopOptions, fit, predict_probs
from avs_studio.training.model import StudentConfig, build_model
from avs_studio.training.samples import SampleSet
from tests.benchmarks._common import Figures, machine


def samples(n: int, size: int) -> SampleSet:
    images, masks = [], []
    for i in range(n):
        rng = np.random.default_rng(i)
        kind = SHAPES[i % len(SHAPES)]
        img, m = _render(
            _layout(rng, kind, size, 3), 0, size, rng, kind, np.full((size, size, 3), 40, np.float32)
        )
        images.append(img)
        masks.append(m)
    mels = np.random.default_rng(0).normal(-50, 10, (n, 64, 100)).astype(np.float32)
    return SampleSet(np.stack(images), mels, np.stack(masks), np.ones(n, np.float32))


def main(quick: bool = False) -> list[dict]:
    emit = Figures("training", machine(f"torch {torch.__version__}, {torch.get_num_threads()} threads"))

    configs = [("tiny", 64)] if quick else [("tiny", 64), ("tiny", 96), ("resnet18", 96)]
    for backbone, size in configs:
        cfg = StudentConfig(backbone=backbone, image_size=size, width=16)
        data = samples(96 if quick else 192, size)
        with tempfile.TemporaryDirectory(prefix="bench-training-") as tmp:
            events: list[dict] = []
            t0 = time.perf_counter()
            fit(cfg, data, None, LoopOptions(epochs=2, batch_size=16, log_every=1000), tmp, events.append)
            dt = time.perf_counter() - t0
        target = "whole synthetic S4 test < 4 min" if (backbone, size) == ("tiny", 64) else "-"
        emit(f"train {backbone} {size}px batch 16 (CPU)", 2 * len(data) / dt, "samples/s", target)
        model = build_model(cfg).eval()
        x = torch.rand(32, 3, size, size)
        a = torch.from_numpy(data.mels[:32])
        predict_probs(model, x[:4], a[:4])
        t0 = time.perf_counter()
        predict_probs(model, x, a)
        emit(f"infer {backbone} {size}px batch 32 (CPU)", 32 / (time.perf_counter() - t0), "frames/s", "-")
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
