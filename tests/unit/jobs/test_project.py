"""Projects: create, open, keyframes, and the bundled sample project."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from avs_studio.jobs import ProjectError, init_project, is_project, keyframes, open_project
from avs_studio.jobs.sample import open_sample_project, sample_clip


@dataclass
class FakeVideo:  # keyframes() needs only these fields of a VideoRow
    fps: float
    frame_count: int
    keyframe_rate: float = 1.0
    meta: dict = field(default_factory=dict)
    path: str = ""


@pytest.mark.parametrize(
    ("fps", "count", "rate", "expected"),
    [
        (25, 125, 1.0, [0, 25, 50, 75, 100]),  # AVSBench: first frame of each second
        (25, 124, 1.0, [0, 25, 50, 75, 100]),
        (30000 / 1001, 150, 1.0, [0, 30, 60, 90, 120]),  # 29.97 fps: first frame at or after each second
        (10, 30, 2.0, [0, 5, 10, 15, 20, 25]),
        (10, 5, 10.0, [0, 1, 2, 3, 4]),  # every frame
        (10, 5, 50.0, [0, 1, 2, 3, 4]),  # faster than fps: still every frame once
    ],
)
def test_keyframes(fps, count, rate, expected):
    assert keyframes(FakeVideo(fps, count), rate) == expected


def test_init_then_open(tmp_path):
    with init_project(tmp_path / "p") as project:
        assert (project.dir / "project.db").is_file()
        assert project.media_dir.is_dir()
    assert is_project(tmp_path / "p")
    with pytest.raises(ProjectError, match="already a project"):
        init_project(tmp_path / "p")
    with open_project(tmp_path / "p") as project:
        assert project.store.videos() == []


def test_open_missing_or_plain_folder(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        open_project(tmp_path / "nope")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ProjectError, match="avs-studio init"):
        open_project(tmp_path / "plain")


def test_sample_project_is_created_once_with_the_bundled_clip(tmp_path):
    with open_sample_project(tmp_path / "sample") as project:
        (video,) = project.store.videos()
        assert video.path.endswith(sample_clip().name)
        assert video.has_audio and video.frame_count == 200 and video.fps == pytest.approx(25)
        assert keyframes(video) == [0, 25, 50, 75, 100, 125, 150, 175]
    with open_sample_project(tmp_path / "sample") as project:  # reopened, not re-added
        assert len(project.store.videos()) == 1
