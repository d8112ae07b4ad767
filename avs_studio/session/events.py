"""Plain-Python events: the session's way of saying "this changed" without Qt (napari's EmitterGroup, small).

Usage::

    shown: Event[[int]] = Event()
    shown.connect(lambda frame: print("now showing", frame))
    shown.emit(12)

Callbacks run in the order they were connected, on the thread that emits (the GUI thread: controllers
emit from their store callbacks, which the runners deliver there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, ParamSpec

P = ParamSpec("P")


class Event(Generic[P]):
    """A list of callbacks with one signature."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[P, object]] = []

    def connect(self, callback: Callable[P, object]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[P, object]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: P.args, **kwargs: P.kwargs) -> None:
        for callback in list(self._callbacks):
            callback(*args, **kwargs)

    def __len__(self) -> int:
        return len(self._callbacks)
