"""The bundled sample project: one short clip with real audio, opened when no project is given."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir

from avs_studio.jobs.project import Project, add_videos, init_project, is_project, open_project
from avs_studio.resources import resource

SAMPLE_CLIP = ("sample", "drum_and_bird.mp4")
SAMPLE_PROFILE = ("sample", "sample-profile.toml")  # first proposals without a model download


def sample_clip() -> Path:
    return resource(*SAMPLE_CLIP)


def default_sample_dir() -> Path:
    return Path(os.environ.get("AVS_STUDIO_DATA", user_data_dir("avs-studio"))) / "sample-project"


def open_sample_project(project_dir: str | os.PathLike[str] | None = None) -> Project:
    """Open the sample project, creating it (SQLite + the bundled clip + its first proposals, to review
    at once) on first use."""
    path = Path(project_dir) if project_dir else default_sample_dir()
    if is_project(path):
        return open_project(path)
    project = init_project(path)
    report = add_videos(project, [sample_clip()], split="test", category="sample")
    if report.skipped:
        raise RuntimeError(f"the bundled sample clip could not be added: {report.skipped[0][1]}")
    propose_sample(project)
    return project


def propose_sample(project: Project) -> None:
    """The sample's first proposals through the real pipeline, with the simplest stages (a pitch
    describer, a keyword translator, a colour segmenter: resources/sample/sample-profile.toml)."""
    from avs_studio.jobs.propose import propose
    from avs_studio.openavs import Pipeline, load_config

    report = propose(project, None, Pipeline.from_config(load_config(resource(*SAMPLE_PROFILE))))
    if report.errors:
        raise RuntimeError(f"the sample's first proposals failed: {'; '.join(report.errors)}")
