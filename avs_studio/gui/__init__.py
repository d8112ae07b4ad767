"""avs_studio.gui: the PySide6 window, canvas, timeline, tools, panels and workers (see docs/CONTRACTS.md).

The window's state and behaviour live in ``avs_studio.session`` (no Qt); this package draws the session
and connects Qt signals to its controllers.
"""
