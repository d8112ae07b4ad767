"""The lean install: a fresh venv with `pip install .` (no extras) runs init / add / demo-data /
import-avsbench / export / eval / status and opens the GUI with no torch; prints its size and, unless
--quick, the size of a fresh `[all]` venv (torch from this machine's disk first, as `make` does).

    python -m tests.benchmarks.bench_install [--quick] [--keep DIR]

Needs the package registries (PyPI) or a warm pip cache; takes minutes and ~6 GB of disk for `[all]`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.benchmarks._common import Figures

ROOT = Path(__file__).resolve().parents[2]
PINS = ROOT / "constraints.txt"
CLEAN = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}  # the venv's own view

GUI_CHECK = r"""
import sys, json, time
from PySide6.QtWidgets import QApplication
app = QApplication(["avs"])
from avs_studio.jobs import open_project
from avs_studio.gui.main_window import MainWindow
from avs_studio import extras
project = open_project(sys.argv[1])
w = MainWindow(project, ask=False)
w.show()
end = time.monotonic() + 20
while w.canvas.image is None and time.monotonic() < end:  # the first frame decodes on a thread
    app.processEvents()
    time.sleep(0.02)
for _ in range(20):
    app.processEvents()
w.grab().save(sys.argv[2])
train = [a for a in w.findChildren(type(w.actions["run_clip"])) if a.objectName() == "train_student"][0]
out = {
    "qt_modules": sorted(m for m in sys.modules if m.startswith("PySide6.Qt")),
    "heavy": [m for m in ("torch", "transformers", "timm") if m in sys.modules],
    "frame_shown": w.canvas.image is not None,
    "run_clip_enabled": w.actions["run_clip"].isEnabled(),
    "train_tooltip": train.toolTip(),
    "unavailable": sorted(extras.unavailable_features()),
}
w.close()
project.close()
print(json.dumps(out))
"""


def du_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 1e6


def venv(where: Path) -> Path:
    subprocess.run([sys.executable, "-m", "venv", str(where)], check=True, env=CLEAN)
    return where / "bin" / "python"


def pip(py: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([str(py), "-m", "pip", "install", "-q", "-c", str(PINS), *args], check=True, env=CLEAN)
    return time.perf_counter() - start


def run(py: Path, *args: str, cwd: Path, env: dict | None = None) -> str:
    exe = py.parent / "avs-studio"
    res = subprocess.run([str(exe), *args], cwd=cwd, capture_output=True, text=True, env=env)
    if res.returncode != 0:
        raise RuntimeError(f"avs-studio {' '.join(args)} failed ({res.returncode}): {res.stderr[-2000:]}")
    return res.stdout


def base_checks(py: Path, work: Path, fig: Figures) -> None:
    """The annotation / review / dataset commands and the GUI, in the base venv, without torch."""
    from tests.helpers.media_factory import make_video  # run by this (dev) venv: the base venv has no tests

    env = {**CLEAN, "QT_QPA_PLATFORM": "offscreen", "AVS_STUDIO_CACHE": str(work / "cache")}
    no_torch = subprocess.run([str(py), "-c", "import torch"], capture_output=True, text=True, env=env)
    assert no_torch.returncode != 0, "torch is importable in the base venv"
    addons = subprocess.run([str(py), "-m", "pip", "show", "PySide6-Addons"], capture_output=True, env=env)
    assert addons.returncode != 0, "PySide6-Addons came with the base install"
    clip = make_video(work / "clip.mp4", frames=30, fps=15.0, size=(96, 64))
    start = time.perf_counter()
    run(py, "init", str(work / "p"), cwd=work, env=env)
    run(py, "add", str(work / "p"), str(clip), cwd=work, env=env)
    run(py, "demo-data", str(work / "demo"), "--subset", "s4", "--train", "4", "--val", "2", "--test", "2",
        "--size", "64", cwd=work, env=env)  # fmt: skip
    run(py, "init", str(work / "q"), cwd=work, env=env)
    run(py, "import-avsbench", str(work / "q"), str(work / "demo"), "--subset", "s4", cwd=work, env=env)
    run(py, "export", str(work / "q"), str(work / "out"), "--format", "png", cwd=work, env=env)
    gt = work / "demo" / "gt_masks" / "test"
    scores = json.loads(run(py, "eval", str(gt), str(gt), "--json", cwd=work, env=env))
    assert scores["miou"] == 1.0, scores
    status = json.loads(run(py, "status", str(work / "p"), "--json", cwd=work, env=env))
    assert len(status["videos"]) == 1
    missing = subprocess.run([str(py.parent / "avs-studio"), "propose", str(work / "p")], cwd=work, env=env,
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode == 1 and "pip install 'avs-studio[models]'" in missing.stderr, missing.stderr
    fig("base: init/add/demo-data/import/export/eval/status", time.perf_counter() - start, "s")
    start = time.perf_counter()
    shot = work / "base_gui.png"
    res = subprocess.run([str(py), "-c", GUI_CHECK, str(work / "p"), str(shot)], cwd=work, env=env,
                         capture_output=True, text=True)  # fmt: skip
    if res.returncode != 0:
        raise RuntimeError(f"the GUI did not open in the base venv: {res.stderr[-2000:]}")
    gui = json.loads(res.stdout.strip().splitlines()[-1])
    assert gui["heavy"] == [] and gui["frame_shown"] and not gui["run_clip_enabled"], gui
    assert "avs-studio[train]" in gui["train_tooltip"], gui
    print(
        f"  base GUI: Qt modules {', '.join(gui['qt_modules'])}; greyed out: {', '.join(gui['unavailable'])}"
    )
    fig("base: open the GUI (no torch)", time.perf_counter() - start, "s")


def main(quick: bool = False, keep: Path | None = None) -> list[dict]:
    fig = Figures("install")
    work = keep or Path(tempfile.mkdtemp(prefix="avs-install-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        py = venv(work / "base")
        fig("base: pip install . (no extras)", pip(py, str(ROOT)), "s")
        fig("base venv size", du_mb(work / "base"), "MB", "no torch")
        base_checks(py, work, fig)
        if not quick:
            py = venv(work / "all")
            t = pip(py, "torch==2.14.1", "torchvision==0.29.1") + pip(py, f"{ROOT}[all]")
            fig("all: pip install torch, then .[all]", t, "s")
            fig("[all] venv size", du_mb(work / "all"), "MB")
    finally:
        if keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return fig.rows


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bench_install")
    parser.add_argument("--quick", action="store_true", help="the base venv only")
    parser.add_argument("--keep", type=Path, help="build the venvs here and keep them")
    args = parser.parse_args()
    main(quick=args.quick, keep=args.keep)
