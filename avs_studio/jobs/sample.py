"""The bundled sample project: one short clip with real audio, opened when no project is given."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

from avs_studio.jobs.project import Project, add_videos, init_project, is_project, open_project
from avs_studio.resources import resource

SAMPLE_CLIP = ("sample", "drum_and_bird.mp4")


def sample_clip() -> Path:
    return resource(*SAMPLE_CLIP)


def default_sample_dir() -> Path:
    return Path(os.environ.get("AVS_STUDIO_DATA", user_data_dir("avs-studio"))) / "sample-project"


def open_sample_project(project_dir: str | os.PathLike[str] | None = None) -> Project:
    """Open the sample project, creating it (SQLite + the bundled clip) on first use."""
    path = Path(project_dir) if project_dir else default_sample_dir()
    if is_project(path):
        return open_project(path)
    project = init_project(path)
    report = add_videos(project, [sample_clip()], split="test", category="sample")
    if report.skipped:
        raise RuntimeError(f"the bundled sample clip could not be added: {report.skipped[0][1]}")
    return project
