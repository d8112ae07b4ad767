"""`avs-studio accept-clip / copy-keyframe / resegment`: the window's Shift+A, C and T from the command line,
through the same job functions, on a real project (generated video, deterministic pipeline stages)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from avs_studio.cli import main
from avs_studio.jobs import add_videos, init_project, open_project
from avs_studio.media import VideoReader
from tests.helpers.media_factory import make_video, red

FPS = 10
CONFIG = """
[pipeline]
clip_seconds = 2
[[describers]]
name = "fixed"
texts = ["x"]
[translator]
name = "keyword"
keywords = {}
[segmenter]
name = "color-box"
min_area = 16
"""


@pytest.fixture
def setup(tmp_path: Path):
    video = make_video(tmp_path / "clip.mp4", frames=60, fps=FPS, size=(160, 120), gop=10)
    with init_project(tmp_path / "p") as project:
        (vid,) = [i for _, i in add_videos(project, [video]).added]
    config = tmp_path / "two.toml"
    config.write_text(CONFIG)
    return tmp_path / "p", vid, config, video


def run_json(capsys, *args) -> dict:
    capsys.readouterr()
    assert main([str(a) for a in args]) == 0
    return json.loads(capsys.readouterr().out)


def test_accept_clip_and_copy_keyframe(setup, capsys):
    project_dir, vid, config, _ = setup
    with open_project(project_dir) as project:
        store = project.store
        oid = store.add_object(vid, "drum")
        m = np.zeros((120, 160), bool)
        m[10:20, 10:30] = True
        for f in (0, 10, 20, 30):
            store.put_annotation(vid, f, oid, m, source="proposal", status="proposed")
    # clips of 2 keyframes (the config's clip length): frame 25 is in the clip [20, 40)
    out = run_json(capsys, "accept-clip", project_dir, vid, 25, "--config", config, "--json")
    assert out == {"first": 20, "end": 40, "accepted": 2}
    out = run_json(capsys, "copy-keyframe", project_dir, vid, 40, "--json")
    assert out == {"source": 30, "copied": 1}
    with open_project(project_dir) as project:
        rows = {r.frame: (r.status, r.source) for r in project.store.annotations(video_id=vid)}
        assert rows == {
            0: ("proposed", "proposal"), 10: ("proposed", "proposal"), 20: ("accepted", "proposal"),
            30: ("accepted", "proposal"), 40: ("edited", "manual"),
        }  # fmt: skip
    capsys.readouterr()
    assert main(["copy-keyframe", str(project_dir), str(vid), "0"]) == 1
    assert "no keyframe before frame 0" in capsys.readouterr().out


def test_resegment_a_frame(setup, capsys):
    project_dir, vid, config, video = setup
    out = run_json(
        capsys, "resegment", project_dir, vid, 10, "--phrases", "red square", "--config", config, "--json"
    )
    assert out == {"annotations": 1, "empty": 0, "skipped": 0}
    with VideoReader(video) as reader:
        expected = red(reader.frame(10))
    with open_project(project_dir) as project:
        (row,) = project.store.annotations(video_id=vid, frame=10)
        assert row.status == "proposed" and np.array_equal(row.mask(), expected)
        project.store.set_status(row.id, "accepted")
    out = run_json(capsys, "resegment", project_dir, vid, 10, "--phrases", "", "--config", config, "--json")
    assert out["skipped"] == 1  # a reviewed frame keeps its masks
    with open_project(project_dir) as project:
        assert [r.status for r in project.store.annotations(video_id=vid, frame=10)] == ["accepted"]
