"""avs_studio.gui: the PySide6 windows, canvas, timeline, tools, panels and workers (see docs/CONTRACTS.md)."""

from avs_studio.gui import qtfix

qtfix.apply()  # PySide6 6.12.0 signal-emit refcount bug: see qtfix.py
