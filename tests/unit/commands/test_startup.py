"""`avs-studio --help` and `avs-studio COMMAND --help` start fast: they load none of the heavy libraries
(torch, transformers, Qt, OpenCV, Ray), which the commands import when they run. The GUI modules load no
model library either (import-linter cannot see that: they reach jobs, whose model imports are lazy).
The time is printed by tests/benchmarks/bench_cli.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("torch", "torchvision", "transformers", "PySide6", "cv2", "ray", "whisper", "timm", "sentence_transformers")
MODEL_LIBS = tuple(m for m in HEAVY if m not in ("PySide6", "cv2"))

HELP_RUNNER = """
import contextlib, io, json, sys
from avs_studio.cli import build_parser, main

def commands(parser, prefix=()):
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            for name, sub in action.choices.items():
                yield (*prefix, name)
                yield from commands(sub, (*prefix, name))

argvs = [["--help"]] + [[*c, "--help"] for c in commands(build_parser())]
for argv in argvs:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
        main(argv)
print(json.dumps({"commands": len(argvs), "loaded": sorted(m for m in HEAVY if m in sys.modules)}))
"""


def _run(code: str, heavy: tuple[str, ...]) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    res = subprocess.run(
        [sys.executable, "-c", f"HEAVY = {heavy!r}\n{code}"], capture_output=True, text=True, cwd=ROOT, env=env
    )
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_help_loads_no_heavy_library() -> None:
    result = _run(HELP_RUNNER, HEAVY)
    assert result["commands"] > 30  # every command and sub-command was asked for its help
    assert result["loaded"] == [], f"`--help` imported {result['loaded']}: import them inside the command"


def test_top_level_help_loads_no_layer_below_the_commands() -> None:
    """`avs-studio --help` lists the commands without opening the store, media or models layers (their
    choices are read when a command's own help or arguments need them: commands.common.Choices)."""
    code = (
        "import contextlib, io, json, sys\nfrom avs_studio.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n    main(['--help'])\n"
        "print(json.dumps({'loaded': sorted(m for m in HEAVY if m in sys.modules)}))"
    )
    layers = ("numpy", "sqlalchemy", "av", "avs_studio.store", "avs_studio.jobs", "avs_studio.openavs", "tqdm")
    assert _run(code, HEAVY + layers)["loaded"] == []


def test_gui_modules_load_no_model_library() -> None:
    code = (
        "import json, sys\nimport avs_studio.app, avs_studio.gui.main_window\n"
        "print(json.dumps({'loaded': sorted(m for m in HEAVY if m in sys.modules)}))"
    )
    loaded = _run(code, MODEL_LIBS)["loaded"]
    assert loaded == [], f"opening the GUI modules imported {loaded}"
