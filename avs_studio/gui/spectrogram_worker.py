"""The timeline's spectrograms, computed off the GUI thread.

One worker thread serves every timeline (made on first use). A request that the view has already moved
past when its turn comes is skipped; the answer comes back as ``SpectrogramWorker.ready(key, argb)``, an
(n_mels, columns) uint32 image of the log-mel (low frequencies at the bottom, the top 80 dB).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from threadpoolctl import threadpool_limits

from avs_studio.media import AudioTrack, spectrogram_columns

SPEC_DB_RANGE = 80.0
SPEC_MAX_COLUMNS = 480  # time columns analysed per view (stretched to the width); bounds the FFT work

_POOL: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="timeline-spectrogram")
    return _POOL


def inferno_lut() -> np.ndarray:
    """256 ARGB colours of the inferno colour map (pyqtgraph's)."""
    rgb = pg.colormap.get("inferno").getLookupTable(0.0, 1.0, 256, alpha=False).astype(np.uint32)
    return (0xFF000000 | (rgb[:, 0] << 16) | (rgb[:, 1] << 8) | rgb[:, 2]).astype(np.uint32)


def one_blas_thread() -> Any:
    """log_mel's small mel matmul runs 3-5x slower with a BLAS thread pool on a busy CPU: use one thread."""
    return threadpool_limits(limits=1, user_api="blas")


def spectrogram_argb(audio: AudioTrack, t0: float, t1: float, cols: int, lut: np.ndarray) -> np.ndarray:
    """(n_mels, cols) uint32 image of the log-mel of [t0, t1): low frequencies at the bottom, top 80 dB."""
    mel = spectrogram_columns(audio, t0, t1, cols)
    top = float(mel.max()) if mel.size else 0.0
    norm = np.clip((mel - (top - SPEC_DB_RANGE)) / SPEC_DB_RANGE, 0.0, 1.0)
    idx = (norm[::-1] * 255).astype(np.uint8)
    return lut[idx]


class SpectrogramWorker(QObject):
    ready = Signal(object, object)  # key, (n_mels, cols) uint32 ARGB

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.lut = inferno_lut()

    def request(
        self, key: tuple[float, float, int, Hashable], audio: AudioTrack, latest: Callable[[], object]
    ) -> None:
        """Compute the spectrogram of ``key`` = (t0, t1, columns, audio id) unless ``latest()`` has moved on."""
        _pool().submit(self._run, key, audio, latest)

    def _run(
        self, key: tuple[float, float, int, Hashable], audio: AudioTrack, latest: Callable[[], object]
    ) -> None:
        if latest() != key:
            return
        t0, t1, cols, _ = key
        with one_blas_thread():
            img = spectrogram_argb(audio, t0, t1, cols, self.lut)
        try:
            self.ready.emit(key, img)
        except RuntimeError:  # the timeline is gone
            pass
