"""Work around a reference-count bug of PySide6 6.12.0: ``SignalInstance.emit()`` returns ``True``
without taking a reference, so every emit from Python drops one reference to ``True``; after a few
thousand emits CPython (< 3.12, where True is not immortal) aborts with "bool_dealloc: deallocating
True or False". ``apply()`` measures whether the installed PySide6 has the bug and, only then, gives
True/False/None a very large reference count so they can never reach zero (they are static objects
that are never freed anyway). Call it once before the GUI starts (app.main and the GUI tests do).
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, Signal

_BIG = 1 << 40
_applied = False


class _Probe(QObject):
    fired = Signal()


def emit_leaks_true() -> bool:
    """True when ``Signal.emit()`` drops a reference to ``True`` (PySide6 6.12.0)."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.fired.emit()
    return sys.getrefcount(True) < before - 4


def apply() -> bool:
    """Protect True/False/None when the bug is present; returns whether it was needed."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or not emit_leaks_true():
        return False  # immortal singletons (3.12+) or a fixed PySide6: nothing to do
    for obj in (True, False, None):
        ctypes.c_ssize_t.from_address(id(obj)).value += _BIG
    _applied = True
    logging.getLogger(__name__).info(
        "PySide6 %s leaks a reference to True on every signal emit; applied a workaround "
        "(install another PySide6 version to avoid it)",
        __import__("PySide6").__version__,
    )
    return True
