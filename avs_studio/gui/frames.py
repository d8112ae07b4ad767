"""Frame decoding off the GUI thread: the newest request wins, stale ones are dropped."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np
from PySide6.QtCore import QObject, Signal

from avs_studio.media import VideoReader


class FrameLoader(QObject):
    """Decode ``(path, index)`` on a thread that owns the VideoReaders (with their cache and prefetch).

    ``request`` only records the wish; if the user steps faster than frames decode, the frames in
    between are skipped and only the newest one is shown.
    """

    frame_ready = Signal(str, int, object)  # path, index, uint8 RGB (H, W, 3)
    failed = Signal(str, int, str)  # path, index, message

    def __init__(self, max_open: int = 4, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._readers: OrderedDict[str, VideoReader] = OrderedDict()
        self._max_open = max_open
        self._want: tuple[str, int] | None = None
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="avs-frames", daemon=True)
        self._thread.start()

    def request(self, path: str, index: int) -> None:
        with self._cond:
            self._want = (str(path), int(index))
            self._cond.notify()

    def pending(self) -> bool:
        with self._cond:
            return self._want is not None

    def reader(self, path: str) -> VideoReader:
        """The reader of ``path`` (opened on first use; safe from any thread)."""
        with self._cond:
            reader = self._readers.get(path)
            if reader is not None:
                self._readers.move_to_end(path)
                return reader
        reader = VideoReader(path)  # scanning the file happens outside the lock
        with self._cond:
            if path in self._readers:
                reader.close()
                return self._readers[path]
            self._readers[path] = reader
            while len(self._readers) > self._max_open:
                _, old = self._readers.popitem(last=False)
                old.close()
            return reader

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        self._thread.join(5.0)
        with self._cond:
            for reader in self._readers.values():
                reader.close()
            self._readers.clear()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while self._want is None and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    return
                path, index = self._want
                self._want = None
            try:
                image = self.reader(path).frame(index)
            except Exception as exc:  # reported to the GUI with the file name
                self.failed.emit(path, index, str(exc))
                continue
            with self._cond:
                stale = self._want is not None and self._want[0] == path and self._want[1] != index
            if not stale:
                self.frame_ready.emit(path, index, np.ascontiguousarray(image))
