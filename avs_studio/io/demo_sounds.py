"""Class sounds of the synthetic demo data: one recognisable sound per shape class.

Easy mode: a harmonic tone per class (distinct pitch and amplitude-modulation rate), slight pitch jitter.
Hard mode: every clip draws its own pitch (±10 %), timbre (random harmonic amplitudes), rhythm (the
class's pattern at a jittered rate and phase) and noise level (SNR 3–20 dB), so no two clips of a class
sound alike and a model must learn what the class's sounds share.
"""

from __future__ import annotations

import numpy as np

# Easy: (fundamental Hz, amplitude-modulation rate Hz); distinct in pitch and rhythm.
EASY_SOUNDS = {
    "circle": (300.0, 0.0),
    "square": (650.0, 3.0),
    "triangle": (1400.0, 7.0),
    "cross": (2900.0, 12.0),
}

# Hard: (fundamental Hz, rhythm pattern, pattern rate Hz). Neighbouring pitches are ~1.5x apart, so a
# ±10 % jitter never makes two classes' pitch ranges overlap, but each range is wide.
HARD_SOUNDS = {
    "circle": (260.0, "steady", 0.0),
    "square": (400.0, "pulses", 3.0),
    "triangle": (620.0, "tremolo", 6.0),
    "cross": (950.0, "strikes", 2.0),
    "star": (1450.0, "vibrato", 5.0),
    "ring": (2200.0, "bursts", 4.0),
}


def _tone(f0: float, t: np.ndarray, amps: list[float], rng: np.random.Generator, fm: np.ndarray | None = None) -> np.ndarray:
    """Harmonics of f0 with amplitudes ``amps``; ``fm``: per-sample pitch factor (vibrato)."""
    dt = t[1] - t[0] if len(t) > 1 else 1.0
    phase = 2 * np.pi * f0 * t if fm is None else 2 * np.pi * f0 * np.cumsum(fm) * dt
    out = np.zeros_like(t)
    for h, a in enumerate(amps, start=1):
        if f0 * h < 7600:  # below Nyquist of 16 kHz with a margin
            out += a * np.sin(h * phase + rng.uniform(0, 2 * np.pi))
    return out


def easy_sound(kind: str, seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """The class's tone (harmonics, amplitude modulation, slight random pitch) plus noise, float32 mono."""
    f0, am = EASY_SOUNDS[kind]
    f0 *= rng.uniform(0.95, 1.05)
    t = np.arange(int(seconds * rate), dtype=np.float64) / rate
    tone = sum(
        a * np.sin(2 * np.pi * f0 * h * t + rng.uniform(0, 2 * np.pi))
        for h, a in ((1, 1.0), (2, 0.4), (3, 0.2))
    )
    if am > 0:
        tone *= 0.55 + 0.45 * np.sin(2 * np.pi * am * t)
    tone /= np.max(np.abs(tone)) + 1e-9
    noise = rng.normal(0, 1, t.shape)
    signal = 0.5 * tone + 0.08 * noise
    return np.asarray(signal / max(1.0, float(np.max(np.abs(signal)))), np.float32)


def _envelope(pattern: str, rate_hz: float, t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The class's rhythm as an amplitude envelope in [0, 1]; rate and phase jittered per clip."""
    r = rate_hz * rng.uniform(0.75, 1.3)
    phase = rng.uniform(0, 1)
    if pattern == "steady":
        return 0.85 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t + phase * 6.28)
    if pattern == "pulses":  # on/off gating with a random duty cycle, soft edges
        duty = rng.uniform(0.35, 0.65)
        gate = ((t * r + phase) % 1.0) < duty
        kernel = np.hanning(161)
        return np.convolve(gate.astype(np.float64), kernel / kernel.sum(), mode="same")
    if pattern == "tremolo":
        depth = rng.uniform(0.5, 0.9)
        return 1 - depth * 0.5 * (1 + np.sin(2 * np.pi * r * t + phase * 6.28))
    if pattern == "strikes":  # struck, exponentially decaying notes
        decay = rng.uniform(4, 9)
        return np.exp(-decay * (((t * r + phase) % 1.0) / r))
    if pattern == "bursts":  # short bursts at irregular times
        env = np.zeros_like(t)
        n = max(1, int(rng.poisson(r * t[-1])))
        for start in rng.uniform(0, t[-1], n):
            width = rng.uniform(0.015, 0.045)
            env = np.maximum(env, np.exp(-0.5 * ((t - start) / width) ** 2))
        return env
    return np.ones_like(t)  # vibrato: steady loudness, the pitch moves (see hard_sound)


def hard_sound(kind: str, seconds: float, rate: int, rng: np.random.Generator) -> np.ndarray:
    """A clip of the class's sound: jittered pitch, random timbre, the class's rhythm at a jittered rate,
    and white + low-passed noise at a random SNR. float32 mono in [-1, 1]."""
    f0, pattern, rhythm = HARD_SOUNDS[kind]
    f0 *= rng.uniform(0.9, 1.1)
    t = np.arange(int(seconds * rate), dtype=np.float64) / rate
    n_harm = int(rng.integers(1, 6))
    tilt = rng.uniform(0.3, 1.5)
    amps = [rng.uniform(0.3, 1.0) / h**tilt for h in range(1, n_harm + 1)]
    fm = None
    if pattern == "vibrato":
        fm = 1 + rng.uniform(0.02, 0.05) * np.sin(2 * np.pi * rhythm * rng.uniform(0.75, 1.3) * t)
    tone = _tone(f0, t, amps, rng, fm) * _envelope(pattern, rhythm, t, rng)
    tone /= np.max(np.abs(tone)) + 1e-9
    white = rng.normal(0, 1, t.shape)
    rumble = np.convolve(rng.normal(0, 1, t.shape), np.ones(32) / np.sqrt(32), mode="same")
    noise = white * rng.uniform(0.3, 1.0) + rumble * rng.uniform(0.0, 1.0)
    snr_db = rng.uniform(3, 20)
    tone_rms = np.sqrt(np.mean(tone**2)) + 1e-9
    noise *= tone_rms / (np.sqrt(np.mean(noise**2)) + 1e-9) / 10 ** (snr_db / 20)
    signal = (tone + noise) * rng.uniform(0.3, 0.8)
    return np.asarray(signal / max(1.0, float(np.max(np.abs(signal)))), np.float32)
