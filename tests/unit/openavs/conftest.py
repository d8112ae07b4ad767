"""Tiny random models of the real architectures, written once per test session through
avs_studio.openavs.tiny and loaded back by the same loaders real downloads go through."""

from __future__ import annotations

import numpy as np
import pytest
import torch


class TinyModels:
    """family -> path its loader takes (folder or checkpoint file); each built on first use, once a session."""

    def __init__(self, root):
        self.root, self.paths = root, {}

    def __getitem__(self, family: str):
        from avs_studio.openavs import tiny

        if family not in self.paths:
            self.paths[family] = tiny.save_tiny_models(self.root, [family])[family]
        return self.paths[family]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> TinyModels:
    torch.set_num_threads(1)
    return TinyModels(tmp_path_factory.mktemp("tiny-models"))


@pytest.fixture
def frames() -> list[np.ndarray]:
    """Three small RGB frames with a bright square each (deterministic)."""
    out = []
    for i in range(3):
        img = np.random.default_rng(i).integers(0, 80, (72, 96, 3), dtype=np.uint8)
        img[10 + 5 * i : 40 + 5 * i, 20:60] = (200, 180 - 40 * i, 40)
        out.append(img)
    return out


@pytest.fixture
def audio_segments() -> list[np.ndarray]:
    """Five one-second 16 kHz segments: tones, noise and one of silence."""
    t = np.arange(16000, dtype=np.float32) / 16000
    rng = np.random.default_rng(0)
    segs = [0.3 * np.sin(2 * np.pi * f * t).astype(np.float32) for f in (220.0, 440.0, 880.0)]
    segs.append(rng.normal(0, 0.1, 16000).astype(np.float32))
    segs.append(np.zeros(16000, np.float32))
    return segs
