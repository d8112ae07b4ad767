"""`propagate --executor ray` on a local Ray cluster (2 CPUs, 2 workers): exactly the masks of a local
run, and a video that cannot be decoded reported while the others are stored. (Lost workers, retries
and resume are the executor's and are checked once, in test_propose_ray.py.)"""

from __future__ import annotations

import json

import pytest

from avs_studio.cli import main
from avs_studio.jobs import open_project
from avs_studio.jobs.executor import ExecutorOptions
from avs_studio.jobs.propagate import propagate
from tests.e2e.conftest import SEEDS
from tests.e2e.test_propagate_executor import proposals
from tests.helpers.scene_project import reviewed_project

pytest.importorskip("ray", reason="the [cluster] extra (ray) is not installed")
pytestmark = [pytest.mark.timeout(300), pytest.mark.usefixtures("ray_cluster")]


def test_ray_stores_exactly_what_a_local_run_stores(tmp_path, scenes, ray_cluster, capsys):
    local, remote = reviewed_project(tmp_path / "a", scenes), reviewed_project(tmp_path / "b", scenes)
    with open_project(local) as project:
        propagate(project, executor="local")
    args = [
        "propagate",
        str(remote),
        "--executor",
        "ray",
        "--address",
        ray_cluster,
        "--workers",
        "2",
        "--json",
    ]
    assert main(args) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["segments"] == 2 * len(SEEDS) and report["errors"] == []
    assert report["execution"]["executor"] == "ray" and report["execution"]["workers"] == 2
    stored = proposals(remote)
    assert len(stored) == 48 * 2 * len(SEEDS) and stored == proposals(local)
    with open_project(remote) as project:
        (run,) = project.store.pipeline_runs()
        assert run.status == "done" and run.config["executor"] == "ray" and run.models["engine"] == "flow"


def test_a_video_that_cannot_be_decoded_is_reported_and_the_others_are_stored(tmp_path, scenes):
    folder = reviewed_project(tmp_path, scenes, corrupt=0)
    with open_project(folder) as project:
        report = propagate(project, executor=ExecutorOptions(kind="ray", workers=2, retries=1))
        bad = project.store.videos()[0]
    assert len(report.errors) == 2 and all(f"video {bad.id} ({bad.name})" in e for e in report.errors)
    assert report.segments == 4 and {v for v, _, _ in proposals(folder)} == {2, 3}
