"""The one progress callback of long work: ``progress(done, total, message)``.

Jobs, the pipeline and the CLI all call it this way; the GUI's job runner turns it into a progress bar,
the CLI prints ``[done/total] message`` to stderr. ``total`` 0 means "not known yet".
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]

__all__ = ["Progress"]
