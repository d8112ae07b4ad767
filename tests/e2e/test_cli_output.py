"""Output conventions of the console script: off a terminal a long command prints only its summary (no
progress noise in logs and pipes); on a terminal it draws a bar with count, rate and ETA on stderr; and
``--json`` gives the report to scripts."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from avs_studio.openavs.model_registry import load_registry
from tests.helpers.avsbench_factory import make_s4
from tests.helpers.media_factory import make_video

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "120"}
# tqdm: "adding: 100%|█████| 3/3 [00:01<00:00,  2.50video/s, c.mp4]" (or "1.20s/video" when slow)
BAR = re.compile(r"(\d+)/(\d+) \[\d\d:\d\d<\d\d:\d\d,\s*[\d.]+(?:video/s|s/video)")


def cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "avs_studio", *map(str, args)], capture_output=True, text=True, cwd=ROOT, env=ENV
    )


def on_a_terminal(*args: object) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal; (exit status, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a 120-column terminal
    proc = subprocess.Popen(
        [sys.executable, "-m", "avs_studio", *map(str, args)], stdout=subprocess.PIPE, stderr=slave,
        cwd=ROOT, env=ENV,
    )  # fmt: skip
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    out = proc.stdout.read().decode() if proc.stdout else ""
    return proc.wait(), out, shown.decode(errors="replace")


def _videos(tmp_path: Path, n: int) -> list[Path]:
    return [make_video(tmp_path / f"clip{i}.mp4", frames=10 + i, fps=10, size=(64, 48)) for i in range(n)]


def test_off_a_terminal_only_the_summary(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    assert cli("init", proj).returncode == 0
    res = cli("add", proj, *_videos(tmp_path, 3))
    assert res.returncode == 0, res.stderr
    assert res.stderr == ""  # no bar, no "[1/3]" lines in a log
    assert res.stdout.splitlines() == [f"added {tmp_path / f'clip{i}.mp4'} as video {i + 1}" for i in range(3)]
    lay = make_s4(tmp_path / "s4", per_split={"train": 1, "val": 1, "test": 1})
    res = cli("import-avsbench", proj, lay.root, "--subset", "s4")
    assert res.returncode == 0 and res.stderr == "", res.stderr
    assert len(res.stdout.splitlines()) == 1  # the summary line


def test_on_a_terminal_a_bar_with_rate_and_eta(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    assert cli("init", proj).returncode == 0
    code, out, shown = on_a_terminal("add", proj, *_videos(tmp_path, 3))
    assert code == 0, shown
    assert "adding" in shown
    counts = [(int(a), int(b)) for a, b in BAR.findall(shown)]
    assert counts and counts[-1] == (3, 3), shown  # count of total, elapsed<remaining, rate
    assert len(out.splitlines()) == 3  # the summary stays on stdout


def test_json_reports(tmp_path: Path) -> None:
    proj = tmp_path / "proj"
    res = cli("init", proj, "--json")
    assert json.loads(res.stdout)["project"] == str(proj)
    videos = _videos(tmp_path, 2)
    res = cli("add", proj, *videos, tmp_path / "missing.mp4", "--json")
    report = json.loads(res.stdout)
    assert res.returncode == 1  # one file skipped, as without --json
    assert [p for p, _ in report["added"]] == [str(v) for v in videos]
    assert report["skipped"][0][0] == str(tmp_path / "missing.mp4")
    lay = make_s4(tmp_path / "s4", per_split={"train": 0, "val": 1, "test": 1})
    res = cli("import-avsbench", proj, lay.root, "--subset", "s4", "--json")
    imported = json.loads(res.stdout)
    assert len(imported["videos_added"]) == 2 and imported["problems"] == []
    res = cli("export", proj, tmp_path / "out", "--format", "coco", "--json")
    assert res.returncode == 0, res.stderr
    exported = json.loads(res.stdout)
    assert exported["format"] == "coco" and Path(exported["out"]) == tmp_path / "out"
    assert exported["videos"] == 2 and exported["annotations"] > 0 and (tmp_path / "out" / "manifest.json").is_file()
    res = cli("engine", proj, "--json")
    assert json.loads(res.stdout)["engine"].startswith("openavs")
    res = cli("models", "list", "--json")
    names = [m["name"] for m in json.loads(res.stdout)["models"]]
    assert names == list(load_registry())  # every registered model, with its cache state
    assert {m["cached"] for m in json.loads(res.stdout)["models"]} <= {"yes", "no", "partial"}
