"""Frame-accurate video reading by presentation timestamp, with an LRU cache and background prefetch."""

from __future__ import annotations

import itertools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from avs_studio.media.errors import MediaError
from avs_studio.media.probe import AV_ERRORS, VideoIndex, VideoInfo, av_reason, open_container, scan


class VideoReader:
    """Read frame N exactly (decoded by pts), thread-safe.

    Frames are uint8 RGB (H, W, 3) and read-only (they are shared with the cache): copy before drawing.
    """

    def __init__(self, path: str | Path, cache_size: int = 64, prefetch: int = 8) -> None:
        self.path = Path(path)
        self.info: VideoInfo
        self._index: VideoIndex
        self.info, self._index = scan(self.path)
        self.frame_times: np.ndarray = self._index.times
        self._pts_to_index = {int(v): i for i, v in enumerate(self._index.pts)}
        self._key_idx = np.flatnonzero(self._index.keyframe)
        if len(self._key_idx) == 0 or self._key_idx[0] != 0:
            self._key_idx = np.concatenate([[0], self._key_idx])
        self._cache_size = max(1, int(cache_size))
        self._prefetch = max(0, int(prefetch))
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.RLock()  # guards the container, decoder state and cache
        self._waiting = 0  # foreground readers waiting for the lock; the prefetcher yields to them
        self._container = open_container(self.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._codec = self._stream.codec_context
        self._sent: set[int] = set()  # pts of packets sent to the decoder since the last seek
        self._skip_until: int | None = None  # decode non-reference frames again from this packet pts
        self._decoder: Iterator[av.VideoFrame] | None = None  # decoded frames, positioned after self._next
        self._next = -1  # index the decoder yields next (-1: needs a seek)
        self._closed = False
        self._want: tuple[int, int] | None = None  # prefetch range [a, b)
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        if self._prefetch:
            self._thread = threading.Thread(
                target=_prefetch_loop, args=(weakref.ref(self), self._wake), name="avs-prefetch", daemon=True
            )
            self._thread.start()

    # ----------------------------------------------------------------- public
    def __len__(self) -> int:
        return self.info.frame_count

    def frame(self, index: int) -> np.ndarray:
        """The exact frame ``index`` as uint8 RGB (H, W, 3); IndexError outside [0, frame_count)."""
        index = int(index)
        if not 0 <= index < self.info.frame_count:
            raise IndexError(f"frame {index} outside [0, {self.info.frame_count}) of {self.path}")
        with self._wake:
            self._waiting += 1  # asks the prefetcher to let go of the lock
        try:
            self._lock.acquire()
        finally:
            with self._wake:
                self._waiting -= 1
        try:
            img = self._get(index)
        finally:
            self._lock.release()
        self._request_prefetch(index + 1)
        return img

    def frame_at(self, t: float) -> int:
        """Index of the frame shown at time ``t`` (seconds on the video's timeline), clamped."""
        i = int(np.searchsorted(self.frame_times, float(t) + 1e-9, side="right")) - 1
        return min(max(i, 0), self.info.frame_count - 1)

    def keyframe_indices(self, rate: float = 1.0) -> list[int]:
        """Frames to annotate: the first frame at or after each 1/rate seconds (AVSBench: rate 1)."""
        if rate <= 0:
            raise ValueError(f"keyframe rate must be > 0, got {rate}")
        n = self.info.frame_count
        if rate >= self.info.fps - 1e-6:
            return list(range(n))
        step = 1.0 / rate
        marks = np.arange(0.0, self.info.duration - 1e-9, step)
        idx = np.searchsorted(self.frame_times, marks - 1e-6, side="left")
        idx = idx[idx < n]
        return sorted({int(i) for i in idx})

    @property
    def keyframes(self) -> list[int]:
        """Indices of the codec's keyframes (seek points)."""
        return [int(i) for i in self._key_idx]

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        with self._lock:
            self._decoder = None
            self._cache.clear()
            self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; call close()
        try:
            if not self._closed:
                self.close()
        except Exception:
            pass

    # --------------------------------------------------------------- decoding
    def _get(self, index: int) -> np.ndarray:
        """Cached or decoded frame; caller holds self._lock."""
        if self._closed:
            raise MediaError(self.path, "reader is closed")
        img = self._cache.get(index)
        if img is not None:
            self._cache.move_to_end(index)
            return img
        img = self._decode(index)
        self._cache[index] = img
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return img

    def _keyframe_before(self, index: int) -> int:
        return int(self._key_idx[np.searchsorted(self._key_idx, index, side="right") - 1])

    def _decode(self, index: int) -> np.ndarray:
        img = self._decode_once(index, skip=True)
        if img is None:  # the target was skipped or lost: decode again from its keyframe, nothing skipped
            self._decoder = None
            img = self._decode_once(index, skip=False)
        if img is None and index > 0:  # inexact seek index (e.g. MPEG-TS): decode from the start
            self._decoder = None
            img = self._decode_once(index, skip=False, key=0)
        if img is None:
            self._decoder, self._next = None, -1
            raise MediaError(
                self.path,
                f"frame {index} (pts {int(self._index.pts[index])}) could not be decoded",
                "the file may be corrupt",
            )
        return img

    def _decode_once(self, index: int, skip: bool, key: int | None = None) -> np.ndarray | None:
        if key is None:
            key = self._keyframe_before(index)
        # Continue decoding forward when the target is ahead and no keyframe lies between.
        if self._decoder is None or not (self._next <= index and key <= self._next):
            self._seek(key)
        target = int(self._index.pts[index])
        if skip and index > self._next and target not in self._sent:
            # Frames before the target are never shown: skip the non-reference ones (about half).
            self._skip_until = target
            self._codec.skip_frame = "NONREF"
        decoder = self._decoder
        if decoder is None:  # _seek always starts one
            raise MediaError(self.path, f"cannot decode frame {index}: no decoder")
        try:
            for frame in decoder:
                pts = frame.pts
                if pts is None:
                    continue
                i = self._pts_to_index.get(int(pts))
                if i is None:
                    continue
                self._next = i + 1
                if i == index:
                    img: np.ndarray = frame.to_ndarray(format="rgb24")
                    img.setflags(write=False)
                    return img
                if pts > target:
                    break
        except AV_ERRORS as exc:
            self._decoder, self._next = None, -1
            raise MediaError(self.path, f"cannot decode frame {index}: {av_reason(exc)}") from exc
        finally:
            self._skip_until = None
            self._codec.skip_frame = "DEFAULT"
        self._decoder, self._next = None, -1
        return None

    def _seek(self, key: int) -> None:
        """Position the decoder at or before keyframe ``key``.

        Container seeks are exact for mp4/mkv; where they overshoot (MPEG-TS) seek earlier and earlier,
        and finally reopen the file and decode from its start.
        """
        want = int(self._index.pts[key])
        margin = 0
        for _attempt in range(5):
            try:
                self._container.seek(want - margin, stream=self._stream, backward=True, any_frame=False)
                self._sent.clear()
                frames = self._frames()
                first = next(frames, None)
            except AV_ERRORS as exc:
                raise MediaError(self.path, f"seek to frame {key} failed: {av_reason(exc)}") from exc
            if first is None or first.pts is None or first.pts <= want:
                self._start_decoder(first, frames, key)
                return
            margin = max(2 * margin, int(2.0 / float(self._index.time_base)))
        self._container.close()
        self._container = open_container(self.path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._codec = self._stream.codec_context
        self._sent.clear()
        self._decoder = self._frames()
        self._next = 0

    def _start_decoder(
        self, first: av.VideoFrame | None, frames: Iterator[av.VideoFrame], key: int
    ) -> None:
        if first is None:
            self._decoder, self._next = frames, key
            return
        i = self._pts_to_index.get(int(first.pts)) if first.pts is not None else None
        self._decoder = itertools.chain([first], frames)
        self._next = key if i is None else i

    def _frames(self) -> Iterator[av.VideoFrame]:
        for packet in self._container.demux(self._stream):
            if packet.pts is not None:
                if packet.pts == self._skip_until:  # the target itself must be decoded
                    self._codec.skip_frame = "DEFAULT"
                    self._skip_until = None
                if len(self._sent) > 4096:  # long sequential runs: forget old ones (only costs a skip)
                    self._sent.clear()
                self._sent.add(int(packet.pts))
            yield from packet.decode()

    # --------------------------------------------------------------- prefetch
    def _request_prefetch(self, start: int) -> None:
        if not self._prefetch or self._closed:
            return
        end = min(start + self._prefetch, self.info.frame_count)
        if start >= end:
            return
        with self._wake:
            self._want = (start, end)
            self._wake.notify()

    def _prefetch_step(self) -> bool:
        """Decode the wanted frames ahead; False when the reader is closed."""
        with self._wake:
            if self._closed:
                return False
            if self._want is None:
                return True
            start, end = self._want
            self._want = None
        for i in range(start, end):
            with self._wake:
                if self._closed or self._want is not None or self._waiting:
                    break
            with self._lock:
                if self._closed:
                    return False
                if i in self._cache:
                    continue
                # Only continue forward: never seek away from where the viewer is reading.
                if self._decoder is None or self._next != i:
                    break
                try:
                    self._get(i)
                except MediaError:
                    break
        return True


def _prefetch_loop(ref: weakref.ReferenceType[VideoReader], wake: threading.Condition) -> None:
    """Background prefetch; holds the reader only weakly so a forgotten reader is still collected."""
    while True:
        with wake:
            reader = ref()
            idle = reader is not None and reader._want is None and not reader._closed
            del reader
            if idle:
                wake.wait(timeout=0.5)
        reader = ref()
        if reader is None or not reader._prefetch_step():
            return
        del reader
