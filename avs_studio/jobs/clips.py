"""Clips: what OpenAVS proposes at once and Shift+A accepts at once. Defined here, once.

A clip is ``clip_length`` consecutive keyframes (the profile's ``[pipeline] clip_seconds``: with one
keyframe a second, 5 keyframes = 5 s); its frames run from its first keyframe to the next clip's first
keyframe (the last clip to the end of the video).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from avs_studio.jobs.project import Project
from avs_studio.settings import PIPELINE

if TYPE_CHECKING:
    from avs_studio.openavs import PipelineConfig


def clip_length(config: PipelineConfig | str | Path | None = None) -> int:
    """Keyframes per clip of a pipeline config, profile name or TOML file (None: the default profile)."""
    from avs_studio.openavs import PipelineConfig, load_config

    if isinstance(config, PipelineConfig):
        return int(config.clip_seconds)
    return int(load_config(config).clip_seconds)


def project_profile(project: Project) -> str:
    """The pipeline profile the project's settings name (the GUI's choice), else "default"."""
    values = project.store.get_setting(PIPELINE) or {}
    profile = values.get("profile") if isinstance(values, dict) else None
    return str(profile) if profile else "default"


def split_clips(keyframes: Sequence[int], size: int) -> list[list[int]]:
    """The keyframes, ``size`` at a time (the last clip may be shorter)."""
    return [list(keyframes[i : i + size]) for i in range(0, len(keyframes), size)]


def clip_of(keyframes: Sequence[int], frame: int, size: int, frame_count: int) -> tuple[int, int]:
    """[first, end) frames of the clip holding ``frame`` (frames before the first keyframe: clip 0)."""
    if not keyframes or size < 1:
        return 0, frame_count
    start = max(bisect.bisect_right(keyframes, frame) - 1, 0) // size * size
    first = keyframes[start] if start else 0
    end = keyframes[start + size] if start + size < len(keyframes) else frame_count
    return first, end


def frame_key(video_id: int, frame: int) -> str:
    """The name of one frame in the models' embedding cache (proposals and clicks share it)."""
    return f"video:{video_id}:{frame}"
