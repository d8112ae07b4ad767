"""Start-up time of the console script: `avs-studio --help` and a command's `--help` (heavy libraries are
imported inside the commands, tests/unit/commands/test_startup.py), against a bare `python -c pass`."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tests.benchmarks._common import Figures

ROOT = Path(__file__).resolve().parents[2]


def _seconds(args: list[str], repeat: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(repeat + 1):  # the first run warms the file cache
        t = time.perf_counter()
        subprocess.run([sys.executable, *args], capture_output=True, check=True, cwd=ROOT, env=env)
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


def main(quick: bool = False) -> list[dict]:
    emit = Figures("cli")
    repeat = 3 if quick else 7
    bare = _seconds(["-c", "pass"], repeat)
    emit("python -c pass", bare, "s", "-")
    for argv in (["--help"], ["propose", "--help"], ["train", "--help"], ["models", "list", "--help"]):
        emit(f"avs-studio {' '.join(argv)}", _seconds(["-m", "avs_studio", *argv], repeat), "s", "< 0.5 s")
    return emit.rows


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
