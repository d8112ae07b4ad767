"""`propagate --executor local`: segments are the executor's unit of work. The same masks as the
in-process run, a video that cannot be decoded reported while the others are stored, resume after a
cancel, and the CLI. (The Ray executor runs the same work in test_propagate_ray.py.)"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from avs_studio.cli import main
from avs_studio.jobs import open_project
from avs_studio.jobs.executor import ExecutorOptions
from avs_studio.jobs.propagate import propagate
from tests.e2e.conftest import SEEDS
from tests.helpers.moving_objects import iou
from tests.helpers.scene_project import reviewed_project


def proposals(project_dir: Path) -> dict[tuple[int, int, int | None], tuple[bytes, float | None]]:
    """(video, frame, object) -> (mask bits, score) of every propagation proposal."""
    with open_project(project_dir) as project:
        rows = project.store.annotations(source="propagation", status="proposed")
        return {(a.video_id, a.frame, a.object_id): (np.packbits(a.mask()).tobytes(), a.score) for a in rows}


def test_local_executor_stores_what_the_in_process_run_stores(tmp_path, scenes):
    inline, local = reviewed_project(tmp_path / "a", scenes), reviewed_project(tmp_path / "b", scenes)
    with open_project(inline) as project:
        expected = propagate(project)
    with open_project(local) as project:
        report = propagate(project, executor="local")
        (run,) = project.store.pipeline_runs()
    assert (report.segments, report.frames, report.masks) == (
        expected.segments,
        expected.frames,
        expected.masks,
    )
    assert report.segments == 2 * len(SEEDS) and report.frames == 48 * len(SEEDS) and not report.errors
    assert report.execution["executor"] == "local" and report.execution["workers"] == 1
    assert run.status == "done" and run.config["executor"] == "local" and run.models["engine"] == "flow"
    stored = proposals(local)
    assert len(stored) == 48 * 2 * len(SEEDS) and stored == proposals(inline)
    # and they are good masks: the truth of the first scene's frames between its anchors
    scene = scenes[0][0]
    with open_project(local) as project:
        labels = {o.id: o.label for o in project.store.objects(1)}
        rows = project.store.annotations(video_id=1, source="propagation")
        assert np.mean([iou(a.mask(), scene.masks(a.frame)[labels[a.object_id]]) for a in rows]) >= 0.8


def test_a_video_that_cannot_be_decoded_is_reported_and_the_others_are_stored(tmp_path, scenes, capsys):
    folder = reviewed_project(tmp_path, scenes, corrupt=1)
    with open_project(folder) as project:
        report = propagate(project, executor=ExecutorOptions(retries=1))
        bad = project.store.videos()[1]
        (run,) = project.store.pipeline_runs()
    assert len(report.errors) == 2 and report.execution["failed"] == 2 and report.execution["retried"] == 2
    assert all(f"video {bad.id} ({bad.name})" in e and "failed 2 times" in e for e in report.errors)
    assert report.segments == 4 and run.status == "done"
    assert {v for v, _, _ in proposals(folder)} == {1, 3}
    # the CLI says so and exits 1; the good videos' segments are unchanged, the bad ones tried again
    assert main(["propagate", str(folder), "--json"]) == 1
    again = json.loads(capsys.readouterr().out)
    assert (again["unchanged"], again["segments"], len(again["errors"])) == (4, 0, 2)


def test_a_cancelled_run_resumes_where_it_stopped(tmp_path, scenes):
    reference, folder = reviewed_project(tmp_path / "a", scenes), reviewed_project(tmp_path / "b", scenes)
    with open_project(reference) as project:
        propagate(project, executor="local")
    cancel = threading.Event()
    with open_project(folder) as project:
        first = propagate(project, executor="local", cancel=cancel, on_segment=lambda v, f: cancel.set())
        assert first.cancelled and first.segments == 1
        second = propagate(project, executor="local")
        assert (second.unchanged, second.segments, second.cancelled) == (1, 2 * len(SEEDS) - 1, False)
        runs = {r.id: r.status for r in project.store.pipeline_runs()}
        assert sorted(runs.values()) == ["cancelled", "done"]
        # every frame stored once: the first segment by the first run, the rest by the second
        by_run = {
            a.run_id for a in project.store.annotations(video_id=1, source="propagation") if a.frame < 25
        }
        assert by_run == {first.run_id}
    assert proposals(folder) == proposals(reference)
    with open_project(folder) as project:
        assert propagate(project, executor="local").unchanged == 2 * len(SEEDS)  # nothing left to do


def test_cli_executor_options(tmp_path, scenes, capsys):
    folder = str(reviewed_project(tmp_path, scenes[:1]))
    assert main(["propagate", folder, "--executor", "local", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["segments"] == 2 and report["execution"]["executor"] == "local"
    assert report["execution"]["clips_per_s"] > 0
    assert main(["propagate", folder, "--force"]) == 0
    out = capsys.readouterr().out
    assert "2 segments of 1 videos propagated" in out and "local: 1 worker(s)" in out and "segments/s" in out
    assert main(["propagate", folder, "--workers", "2"]) == 1
    assert "need --executor ray" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # propagation always resumes: no such option
        main(["propagate", folder, "--resume"])
    assert "unrecognized arguments: --resume" in capsys.readouterr().err
