"""Helpers shared by the benchmarks: the machine line, peak RSS, running a case in a fresh process,
printing/collecting figures, and median timings (CUDA events on a GPU)."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path
from typing import Any


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo), else the architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(extra: str = "") -> str:
    """One line naming the machine (CPU, cores, load, Python), plus what a benchmark adds."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    python = f"{platform.python_implementation()} {platform.python_version()}"
    line = f"{cpu_model()}, {os.cpu_count()} cpu, load {load:.1f}, {python}"
    return f"{line}, {extra}" if extra else line


def peak_rss_mb() -> float:
    """This process's peak resident set size, MiB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / 2**20


def run_in_subprocess(fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args) in a fresh (spawned) process, so its peak RSS and caches are its own; returns its result."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as ex:
        return ex.submit(fn, *args).result()


class Figures:
    """Collects a benchmark's figures (`rows`) and prints one line each: area, name, value, unit, target,
    machine."""

    def __init__(self, area: str, where: str | None = None):
        self.area, self.where = area, where or machine()
        self.rows: list[dict] = []

    def __call__(self, name: str, value: float, unit: str = "ms", target: str = "-") -> None:
        value = float(value)
        row = {"name": name, "value": round(value, 4), "unit": unit, "target": target, "machine": self.where}
        self.rows.append(row)
        print(
            f"{self.area}  {name:<40} {value:10.3f} {unit:<6} target {target:<10} [{self.where}]", flush=True
        )


def median_ms(fn: Callable[[], Any], repeat: int, warmup: int = 1, device: Any = None) -> float:
    """Median milliseconds of fn() after `warmup` calls; CUDA events when device is a CUDA torch.device."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        if device is not None and device.type == "cuda":
            import torch

            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            torch.cuda.synchronize()
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end))
        else:
            t = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)
