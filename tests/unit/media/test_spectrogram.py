from __future__ import annotations

import numpy as np
import pytest

from avs_studio.media import hz_to_mel, log_mel, mel_band_edges, mel_filterbank, mel_to_hz


def tone(freq: float, rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_shape_and_dtype() -> None:
    x = tone(1000, 16000, 2.0)
    spec = log_mel(x, 16000, 0.5, 1.5, n_mels=64)
    assert spec.shape == (64, 100) and spec.dtype == np.float32
    assert log_mel(x, 16000, 0.0, 0.25, n_mels=40, hop_s=0.05).shape == (40, 5)


@pytest.mark.parametrize("freq", [300.0, 1000.0, 2500.0, 6000.0])
def test_tone_energy_lands_in_its_band(freq: float) -> None:
    rate = 16000
    spec = log_mel(tone(freq, rate, 1.0), rate, 0.2, 0.8, n_mels=64)
    centres = mel_band_edges(rate, 64)[1:-1]
    peak = int(np.argmax(spec.mean(axis=1)))
    assert abs(peak - int(np.argmin(np.abs(centres - freq)))) <= 1
    assert spec[peak].mean() > spec.mean() + 20  # far above the rest


def test_silence_and_outside_audio_hit_the_floor() -> None:
    x = tone(1000, 16000, 1.0)
    spec = log_mel(x, 16000, 3.0, 3.5)  # entirely after the audio
    assert np.all(spec == -100.0)
    stereo = np.stack([x, x])
    np.testing.assert_allclose(log_mel(stereo, 16000, 0.1, 0.3), log_mel(x, 16000, 0.1, 0.3), atol=1e-4)


def test_mel_scale_and_filterbank() -> None:
    assert float(hz_to_mel(1000.0)) == pytest.approx(1000.0, rel=1e-3)
    assert float(mel_to_hz(hz_to_mel(4321.0))) == pytest.approx(4321.0)
    fb = mel_filterbank(16000, 512, 64)
    assert fb.shape == (64, 257)
    assert np.all(fb.max(axis=1) > 0)  # no empty band
    assert np.all(fb >= 0) and fb.max() <= 1.0
