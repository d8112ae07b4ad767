"""Small in-memory samples and a tiny student config for the training tests."""

import numpy as np

from avs_studio.io.demo import SHAPES, _layout, _render
from avs_studio.training.model import StudentConfig
from avs_studio.training.samples import SampleSet


def toy_samples(n: int, size: int = 32, seed: int = 0, frames: int = 20) -> SampleSet:
    """Frames with three shapes; the mel has a band that names the target class (like the demo audio);
    sound classes are the shape classes."""
    images, masks, mels = [], [], []
    for i in range(n):
        rng = np.random.default_rng([seed, i])
        kind = SHAPES[i % len(SHAPES)]
        background = np.full((size, size, 3), 40, np.float32)
        image, mask = _render(_layout(rng, kind, size, 3), 0, size, rng, kind, background)
        mel = rng.normal(-60, 3, (64, frames)).astype(np.float32)
        band = 8 + 12 * SHAPES.index(kind)
        mel[band : band + 4] += 40
        images.append(image)
        masks.append(mask)
        mels.append(mel)
    classes = np.array([i % len(SHAPES) for i in range(n)], np.int64)
    return SampleSet(
        np.stack(images),
        np.stack(mels),
        np.stack(masks),
        np.ones(n, np.float32),
        [(i, 0) for i in range(n)],
        classes,
        list(SHAPES),
    )


def tiny_config(size: int = 32, frames: int = 20) -> StudentConfig:
    return StudentConfig(
        image_size=size,
        width=8,
        decoder_channels=16,
        audio_dim=16,
        audio_tokens=2,
        heads=2,
        audio_frames=frames,
    )
