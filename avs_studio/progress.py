"""The one progress callback of long work: ``progress(done, total, message)``.

Jobs, the pipeline and the CLI all call it this way; the GUI's job runner turns it into a progress bar,
the command line into a terminal bar (``Bar``). ``total`` 0 means "not known yet".
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import TracebackType
from typing import Any, TextIO

Progress = Callable[[int, int, str], None]


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # replaced or closed streams
        return False


class Bar:
    """A ``Progress`` for the command line: a tqdm bar with count, rate and ETA on stderr when stderr is a
    terminal; nothing at all otherwise (logs and pipes get only the command's summary). Use as a context
    manager so the bar's line is finished before the summary is printed."""

    def __init__(self, desc: str, unit: str = "it", stream: TextIO | None = None, *, bytes: bool = False) -> None:
        self.desc, self.unit, self.bytes = desc, "B" if bytes else unit, bytes
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = is_terminal(self.stream)
        self._bar: Any = None

    def __call__(self, done: int, total: int, message: str) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm  # only when a bar is drawn: `--help` and pipes stay light

            self._bar = tqdm(
                total=total or None, desc=self.desc, unit=self.unit, file=self.stream, dynamic_ncols=True,
                mininterval=0.2, smoothing=0.3, unit_scale=self.bytes, unit_divisor=1024 if self.bytes else 1000,
            )  # fmt: skip
        bar = self._bar
        if total and bar.total != total:
            bar.total = total
        if message:
            bar.set_postfix_str(message[-40:], refresh=False)
        bar.update(done - bar.n)

    def echo(self, text: str) -> None:
        """Print a line on stdout without breaking the bar (it is redrawn below the line)."""
        if self._bar is None:
            print(text, flush=True)
            return
        with self._bar.external_write_mode():
            print(text, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Bar:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


__all__ = ["Bar", "Progress", "is_terminal"]
