"""AssignmentGuard: before a person's first edit in a video assigned to another annotator, ask once
("assigned to NAME — edit anyway?"); the answer holds for that video for the rest of the session.

An assignment only warns (``jobs.assign``): nothing is locked, and two people editing the same mask
still meet the store's explicit conflicts. A "no" drops that one edit; the next edit asks again.
"""

from __future__ import annotations

from collections.abc import Callable

from avs_studio.jobs import Project
from avs_studio.jobs.assign import assigned_elsewhere

Ask = Callable[[str, str], bool]  # (annotator, question) -> edit anyway?


def question(annotator: str) -> str:
    return f"This video is assigned to {annotator} — edit anyway?"


class AssignmentGuard:
    def __init__(self, ask: Ask | None = None) -> None:
        self.ask = ask  # None: never ask, edit (scripts); the window sets a question box
        self._allowed: set[tuple[str, int]] = set()  # (project folder, video id) answered "edit anyway"

    def reset(self) -> None:
        self._allowed.clear()

    def refused(self, project: Project, video_id: int) -> str | None:
        """None when this person may edit ``video_id`` now (theirs, unassigned, or already confirmed);
        else the annotator it belongs to (the person said no)."""
        key = (str(project.dir), video_id)
        if key in self._allowed:
            return None
        owner = assigned_elsewhere(project, video_id)
        if owner is None:
            return None
        if self.ask is None or self.ask(owner, question(owner)):
            self._allowed.add(key)
            return None
        return owner
