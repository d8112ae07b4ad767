"""Media files shared by the media tests (generated once per session, tiny)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.media_factory import (
    make_no_audio_video,
    make_short_audio_video,
    make_vfr_video,
    make_video,
)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def gop12_video(media_dir: Path) -> Path:
    """120 frames at 25 fps (4.8 s), keyframe every 12 frames, tone audio."""
    return make_video(media_dir / "gop12.mp4", frames=120, fps=25, gop=12)


@pytest.fixture(scope="session")
def vfr_video(media_dir: Path) -> Path:
    return make_vfr_video(media_dir / "vfr.mp4", frames=60, gop=10)


@pytest.fixture(scope="session")
def mute_video(media_dir: Path) -> Path:
    return make_no_audio_video(media_dir / "mute.mp4", frames=25)


@pytest.fixture(scope="session")
def short_audio_video(media_dir: Path) -> Path:
    return make_short_audio_video(media_dir / "short_audio.mp4", frames=75, fps=25, audio_seconds=1.0)
