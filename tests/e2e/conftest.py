"""Fixtures of the end-to-end tests that several modules share."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEEDS = (3, 5, 8)  # the scenes of the propagation tests


@pytest.fixture(scope="module")
def ray_cluster():
    """A local Ray cluster (2 CPUs) for one module, its workers importing this checkout; its address."""
    ray = pytest.importorskip("ray", reason="the [cluster] extra (ray) is not installed")
    path = os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    ray.init(
        num_cpus=2, include_dashboard=False, logging_level="WARNING",
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )  # fmt: skip
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """Three different 2-s scenes, two moving objects each; reviewed keyframes at 0 and 25."""
    from tests.helpers.moving_objects import make_scene, write_scene_video

    d = tmp_path_factory.mktemp("media")
    out = []
    for seed in SEEDS:
        scene = make_scene(seed=seed, size=(160, 120), frames=50, fps=25)
        out.append((scene, write_scene_video(scene, d / f"scene {seed}.mp4")))
    return out
