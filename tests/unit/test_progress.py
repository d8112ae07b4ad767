"""progress.Bar: the command line's Progress. On a terminal a tqdm bar with count, rate and ETA (and the
lines echoed above it); on anything else nothing at all."""

from __future__ import annotations

import io
import re

import pytest

from avs_studio.progress import Bar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_count_rate_and_eta() -> None:
    screen = Terminal()
    with Bar("training", unit="step", stream=screen) as bar:
        for step in range(1, 6):
            bar(step, 5, f"loss {1 / step:.3f}")
    text = screen.getvalue()
    assert re.search(r"training: 100%.*5/5 \[\d\d:\d\d<\d\d:\d\d,\s*[\d.]+(?:step/s|s/step), loss 0\.200\]", text)


def test_total_learned_late_and_lines_above_the_bar(capsys: pytest.CaptureFixture[str]) -> None:
    screen = Terminal()
    with Bar("evaluating", unit="video", stream=screen) as bar:
        bar(1, 0, "a")  # total not known yet
        bar.echo("a line of output")
        bar(4, 4, "d")
    assert "a line of output" in capsys.readouterr().out
    assert "4/4" in screen.getvalue()


def test_off_a_terminal_nothing() -> None:
    log = io.StringIO()
    with Bar("adding", stream=log) as bar:
        for i in range(1, 4):
            bar(i, 3, "x")
    assert log.getvalue() == "" and not bar.enabled


def test_bytes_are_scaled() -> None:
    screen = Terminal()
    with Bar("model", stream=screen, bytes=True) as bar:
        bar(3 * 1024 * 1024, 4 * 1024 * 1024, "model.safetensors")
    assert re.search(r"3\.00M/4\.00M", screen.getvalue())
