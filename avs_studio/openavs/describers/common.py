"""Audio helpers shared by the describers."""

from __future__ import annotations

from math import gcd

import numpy as np


def mono(segment: np.ndarray) -> np.ndarray:
    """(N,) or (C, N) float audio -> (N,) float32 mono."""
    a = np.asarray(segment, dtype=np.float32)
    if a.ndim == 2:
        a = a.mean(axis=0)
    if a.ndim != 1:
        raise ValueError(f"audio segment must be (N,) or (C, N), got shape {a.shape}")
    return a


def resample(audio: np.ndarray, rate: int, target: int) -> np.ndarray:
    """Polyphase resampling (scipy), float32."""
    if rate == target or len(audio) == 0:
        return audio.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(int(rate), int(target))
    return resample_poly(audio, target // g, rate // g).astype(np.float32)


def prepare(segments: list[np.ndarray], rate: int, target: int) -> list[np.ndarray]:
    return [resample(mono(s), rate, target) for s in segments]


LABEL_SEP = "; "  # between labels: AudioSet labels hold commas ("Vehicle horn, car horn, honking")


def top_labels(probs: np.ndarray, labels: list[str], top_k: int, threshold: float) -> str:
    """Labels of the top_k scores at or above threshold, best first, joined by "; "."""
    order = np.argsort(-probs)[:top_k]
    return LABEL_SEP.join(labels[i] for i in order if probs[i] >= threshold)
