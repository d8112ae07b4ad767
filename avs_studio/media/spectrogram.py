"""Log-mel spectrogram of a time window (numpy only)."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from avs_studio.media.audio import AudioTrack


def hz_to_mel(f: np.ndarray | float) -> np.ndarray:
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m: np.ndarray | float) -> np.ndarray:
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_band_edges(rate: int, n_mels: int, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """n_mels + 2 frequencies (Hz): band i rises from edges[i], peaks at edges[i+1], ends at edges[i+2]."""
    fmax = rate / 2.0 if fmax is None else fmax
    return mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))


@lru_cache(maxsize=16)
def mel_filterbank(rate: int, n_fft: int, n_mels: int) -> np.ndarray:
    """(n_mels, n_fft // 2 + 1) triangular filters (peak 1) on the rfft bins."""
    edges = mel_band_edges(rate, n_mels)
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lower) / np.maximum(centre - lower, 1e-9)
    down = (upper - freqs[None, :]) / np.maximum(upper - centre, 1e-9)
    fb = np.clip(np.minimum(up, down), 0.0, None)
    fb.setflags(write=False)
    return np.asarray(fb)


def log_mel(
    samples_mono: np.ndarray,
    rate: int,
    t0: float,
    t1: float,
    n_mels: int = 64,
    hop_s: float = 0.01,
) -> np.ndarray:
    """(n_mels, frames) float32 dB (floor -100) of [t0, t1); 25 ms Hann windows centred every hop_s.

    ``samples_mono`` is (N,) or (C, N) (channels are averaged); outside the audio counts as silence.
    """
    x = np.asarray(samples_mono, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    if x.ndim != 1:
        raise ValueError(f"samples must be (N,) or (C, N), got shape {np.shape(samples_mono)}")
    if hop_s <= 0:
        raise ValueError(f"hop_s must be > 0, got {hop_s}")
    hop = max(1, int(round(hop_s * rate)))
    win = max(2, int(round(0.025 * rate)))
    n_fft = 1 << int(np.ceil(np.log2(win)))
    n_frames = max(1, int(np.floor((t1 - t0) / hop_s + 1e-9)))
    centre0 = int(round(t0 * rate))
    start = centre0 - n_fft // 2
    length = (n_frames - 1) * hop + n_fft
    seg = np.zeros(length, np.float32)
    lo, hi = max(start, 0), min(start + length, len(x))
    if hi > lo:
        seg[lo - start : hi - start] = x[lo:hi]
    frames = np.lib.stride_tricks.sliding_window_view(seg, n_fft)[::hop][:n_frames]
    window = np.zeros(n_fft, np.float32)
    off = (n_fft - win) // 2
    window[off : off + win] = np.hanning(win + 2)[1:-1]
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel = mel_filterbank(int(rate), n_fft, int(n_mels)) @ power.T
    return np.asarray(10.0 * np.log10(np.maximum(mel, 1e-10)), np.float32)


def spectrogram_columns(
    audio: AudioTrack, t0: float, t1: float, width: int, n_mels: int = 64
) -> np.ndarray:
    """(n_mels, width) log-mel dB of [t0, t1), one frame per column, reading O(width * n_fft) samples."""
    width = max(int(width), 1)
    rate = audio.rate
    win = max(2, int(round(0.025 * rate)))
    n_fft = 1 << int(np.ceil(np.log2(win)))
    span = max(t1 - t0, 1e-6)
    if span * rate <= width * n_fft:  # short window: analyse it directly
        mono = audio.span(t0 - n_fft / rate, t1 + n_fft / rate)
        mono = mono.mean(axis=0) if mono.ndim == 2 else mono
        off = n_fft / rate
        hop = max(span / width, 1.0 / rate)
        mel = log_mel(mono, rate, off, off + min(hop * width, span), n_mels=n_mels, hop_s=hop)
        return _fit_columns(mel, width)
    # long window: one n_fft excerpt centred on each column, laid end to end
    centres = t0 + (np.arange(width) + 0.5) * span / width
    starts = np.round(centres * rate).astype(np.int64) - n_fft // 2
    x = audio.samples if audio.samples.ndim == 2 else audio.samples[None, :]
    n = x.shape[1]
    single = x[0] if x.shape[0] == 1 else None
    excerpts = np.zeros((width, n_fft), np.float32)
    inside = (starts >= 0) & (starts + n_fft <= n)
    if inside.any():  # whole excerpts: one strided view, no per-sample index array
        idx = starts[inside]
        if single is not None:
            view = np.lib.stride_tricks.sliding_window_view(single, n_fft)
            excerpts[inside] = view[idx]
        else:
            excerpts[inside] = np.stack([x[:, a : a + n_fft].mean(axis=0) for a in idx])
    for i in np.flatnonzero(~inside):  # the few excerpts that cross the ends of the audio
        a = int(starts[i])
        lo, hi = max(a, 0), min(a + n_fft, n)
        if hi > lo:
            excerpts[i, lo - a : hi - a] = x[:, lo:hi].mean(axis=0)
    flat = excerpts.reshape(-1)
    hop_s = n_fft / rate
    mel = log_mel(
        flat, rate, (n_fft // 2) / rate, (n_fft // 2) / rate + width * hop_s, n_mels=n_mels, hop_s=hop_s
    )
    return _fit_columns(mel, width)


def _fit_columns(mel: np.ndarray, width: int) -> np.ndarray:
    if mel.shape[1] == width:
        return mel
    pick = np.minimum((np.arange(width) * mel.shape[1] / width).astype(np.int64), mel.shape[1] - 1)
    return mel[:, pick]
