"""Use cases (import, propose, review queries, export, train, evaluate): one function each, no Qt."""

from avs_studio.jobs.project import (
    AddReport,
    Project,
    ProjectError,
    add_videos,
    init_project,
    is_project,
    keyframes,
    open_project,
    project_status,
)

__all__ = [
    "AddReport",
    "Project",
    "ProjectError",
    "add_videos",
    "init_project",
    "is_project",
    "keyframes",
    "open_project",
    "project_status",
]
