"""Does the student learn and listen at the defaults? The real commands end to end, no tuning flag:
`demo-data [--hard]` -> `import-avsbench` -> `train` -> `predict` (own audio, then shuffled between test
clips) -> `eval` (AVSBench protocol). Prints test mIoU, shuffled-audio mIoU, their difference and the
training's wall and CPU seconds (CPU: the trainer's processes; on a machine shared with other work the
wall time grows, the CPU time much less).

    python -m tests.benchmarks.bench_student [--quick] [--task hard|easy|both] [--seed N] [--threads N]

Goals (issue 11): hard task test mIoU >= 0.70 with a shuffled-audio drop >= 0.25 within 10 minutes on an
unloaded 2-core CPU; easy task >= 0.8. `--quick` runs a small bounded form (fewer clips, fewer steps).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks._common import Figures, machine

QUICK = {"train": 64, "val": 8, "test": 16, "flags": ["--steps", "300", "--image-size", "64"]}


def _cli(*args: object, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "avs_studio", *map(str, args)], capture_output=True, text=True, env=env
    )
    if proc.returncode != 0:
        raise RuntimeError(f"avs-studio {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_task(
    work: Path, hard: bool, seed: int = 0, quick: bool = False, threads: int | None = None
) -> dict[str, float]:
    """One task end to end in ``work``; returns the figures."""
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    demo, project = work / "demo", work / "project"
    sizes = ["--train", QUICK["train"], "--val", QUICK["val"], "--test", QUICK["test"]] if quick else []
    _cli("demo-data", demo, "--subset", "s4", "--seed", seed, *(["--hard"] if hard else []), *sizes)
    _cli("init", project)
    _cli("import-avsbench", project, demo, "--subset", "s4")
    cpu0, t0 = _children_cpu(), time.monotonic()
    out = _cli("train", project, "--name", "st", "--json", *(QUICK["flags"] if quick else []), env=env)
    wall, cpu = time.monotonic() - t0, _children_cpu() - cpu0
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    done = events[-1]
    curve = [(e["step"], round(e["val_miou"], 3)) for e in events if e["event"] == "val"]
    scores = {}
    for kind, extra in (("own", []), ("shuffled", ["--shuffle-audio", "0"])):
        pred = work / f"pred-{kind}"
        _cli("predict", project, pred, "--name", "st", "--split", "test", *extra, env=env)
        scores[kind] = json.loads(_cli("eval", pred, demo / "gt_masks" / "test", "--json"))
    return {
        "miou": scores["own"]["miou"],
        "fscore": scores["own"]["fscore"],
        "shuffled_miou": scores["shuffled"]["miou"],
        "drop": scores["own"]["miou"] - scores["shuffled"]["miou"],
        "train_wall_s": wall,
        "train_cpu_s": cpu,
        "steps": done["steps"],
        "best_step": done.get("best_step", 0),
        "val_miou": done.get("val_miou", 0.0),
        "curve": curve,
    }


def main(quick: bool = False, task: str = "both", seed: int = 0, threads: int | None = None) -> list[dict]:
    where = machine(f"{threads or 'default'} torch threads" + (", quick" if quick else ""))
    emit = Figures("student", where)
    tasks = {"hard": True, "easy": False}
    for name, hard in tasks.items():
        if task not in (name, "both"):
            continue
        with tempfile.TemporaryDirectory(prefix=f"bench-student-{name}-") as tmp:
            r = run_task(Path(tmp), hard, seed, quick, threads)
        goal = ">= 0.70" if hard else ">= 0.8"
        emit(f"{name}: test mIoU at the defaults", r["miou"], "mIoU", "-" if quick else goal)
        emit(f"{name}: test F-score", r["fscore"], "F", "-")
        emit(f"{name}: shuffled-audio test mIoU", r["shuffled_miou"], "mIoU", "-")
        emit(f"{name}: drop with shuffled audio", r["drop"], "mIoU", "-" if quick or not hard else ">= 0.25")
        emit(f"{name}: training wall time", r["train_wall_s"], "s", "-" if quick or not hard else "< 600")
        emit(f"{name}: training CPU time", r["train_cpu_s"], "s", "-")
        emit(f"{name}: steps run (best at)", r["steps"], f"@{r['best_step']}", "-")
        print(f"student  {name} validation curve (step, mIoU): {r['curve']}", flush=True)
    return emit.rows


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_student")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--task", default="both", choices=["hard", "easy", "both"])
    p.add_argument("--seed", type=int, default=0, help="demo data seed")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    a = p.parse_args()
    main(quick=a.quick, task=a.task, seed=a.seed, threads=a.threads)
