"""Bundled resources are package data found with importlib.resources: a wheel installed away from the source
tree (as a --user or site install is) finds the registry, the profiles, the vocabulary and the sample clip."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = r"""
import json, avs_studio
from avs_studio.resources import resource, resources_dir
from avs_studio.openavs import weights, profiles
print(json.dumps({
    "package": avs_studio.__file__,
    "dir": str(resources_dir()),
    "models": len(weights.load_registry()),
    "profiles": sorted(profiles()),
    "sample": resource("sample", "drum_and_bird.mp4").stat().st_size,
    "vocabulary": resource("sound_sources.txt").stat().st_size,
}))
"""


def test_a_wheel_install_finds_its_resources(tmp_path):
    wheels, target, src = tmp_path / "wheels", tmp_path / "site", tmp_path / "src"
    shutil.copytree(ROOT / "avs_studio", src / "avs_studio", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):  # build a copy: the build leaves build/ and egg-info behind
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(src)], check=True, cwd=tmp_path)  # fmt: skip
    wheel = next(wheels.glob("avs_studio-*.whl"))
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target),
                    str(wheel)], check=True, cwd=tmp_path)  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in ("AVS_STUDIO_RESOURCES", "AVS_STUDIO_MODELS")}
    env["PYTHONPATH"] = str(target)  # the installed copy, not the source tree
    out = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    import json

    got = json.loads(out.stdout)
    assert got["package"].startswith(str(target)) and got["dir"].startswith(str(target))
    assert got["models"] >= 10 and {"default", "offline", "tiny-random"} <= set(got["profiles"])
    assert got["sample"] > 10_000 and got["vocabulary"] > 1_000


def test_resources_dir_honours_the_environment(tmp_path, monkeypatch):
    from avs_studio.resources import ResourceError, resource, resources_dir

    monkeypatch.setenv("AVS_STUDIO_RESOURCES", str(tmp_path))
    assert resources_dir() == tmp_path
    try:
        resource("models.toml")
    except ResourceError as exc:
        assert "AVS_STUDIO_RESOURCES" in str(exc) and str(tmp_path) in str(exc)
    else:
        raise AssertionError("a missing resource must raise")
    monkeypatch.delenv("AVS_STUDIO_RESOURCES")
    assert resource("models.toml") == ROOT / "avs_studio" / "resources" / "models.toml"
