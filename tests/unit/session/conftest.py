"""A real project (generated counter video with tones, SQLite) and a headless session on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from avs_studio.jobs import add_videos, init_project
from avs_studio.openavs import POINT_SEGMENTERS
from tests.helpers.media_factory import make_video
from tests.helpers.session import Headless, SyncWorker

FPS = 10
FRAMES = 60  # 6 s: keyframes 0, 10, ..., 50; clips of 5 keyframes: [0, 50) and [50, 60)
H, W = 120, 160

# second 0 (400 Hz) "a red square hums" -> "red square"; second 1 (700 Hz) a bird: nothing visible
CONFIG = """
profile = "session-test"
[pipeline]
keyframe_rate = 1.0
clip_seconds = 5
device = "cpu"
[[describers]]
name = "tone"
tones = { "400" = "a red square hums", "700" = "a bird sings", "1000" = "a red square hums" }
[translator]
name = "keyword"
keywords = { "red square" = "red square", "bird" = "bird" }
[segmenter]
name = "color-box"
min_area = 16
[point_segmenter]
name = "color-point"
"""


def box(y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
    m = np.zeros((H, W), bool)
    m[y0:y1, x0:x1] = True
    return m


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    path = tmp_path / "session-test.toml"
    path.write_text(CONFIG)
    return path


@pytest.fixture
def project(tmp_path: Path):
    video = make_video(tmp_path / "media" / "counter.mp4", frames=FRAMES, fps=FPS, size=(W, H), gop=10)
    project = init_project(tmp_path / "project")
    assert add_videos(project, [video], split="train").added
    yield project
    project.close()


@pytest.fixture
def headless(project, config_path):
    h = Headless(project, SyncWorker(config_path, POINT_SEGMENTERS.create("color-point")))
    yield h
    h.close()
