"""The base of every controller: the session it changes and the writer its store writes go through.

A controller method is one user intent (a key, a click, a menu entry). It reads the session, queues the
store work on the writer (``write``), and when that is stored re-reads what changed
(``session.reload``) and says so (``session.events.message``). Failures reach ``events.error`` and
leave the session showing what is stored. No Qt here: the GUI connects its signals to these methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from avs_studio.jobs.editing import conflict_message
from avs_studio.session.runners import Runner
from avs_studio.session.state import AnnotationSession
from avs_studio.store import ConflictError

T = TypeVar("T")
CONFLICT_TITLE = "Someone else changed this first"


class Controller:
    def __init__(self, session: AnnotationSession, writer: Runner) -> None:
        self.session = session
        self.events = session.events
        self.writer = writer

    def write(
        self, fn: Callable[[], T], then: Callable[[T], object] | None = None, what: str = "edit"
    ) -> int:
        """Run ``fn`` (store calls) on the writer; ``then(result)`` runs back on the session's thread.

        A ConflictError (another author's change the person has not seen) is reported in words: who
        changed which object on which frame; nothing of theirs was overwritten."""
        session = self.session
        if session.read_only:
            self.say(f"Read-only project ({session.read_only}): the {what} was not stored", 5000)
            return -1
        guarded, conflicts = self.guard(fn, what)

        def done(value: Any) -> None:
            session.write_failed = False
            if then is not None:
                then(value)

        def failed(message: str) -> None:
            session.write_failed = True
            title = CONFLICT_TITLE if conflicts else f"The {what} was not stored"
            self.events.error.emit(title, message)
            session.reload(all_frames=True)

        return self.writer.submit(guarded, on_done=done, on_error=failed)

    def guard(self, fn: Callable[[], T], what: str) -> tuple[Callable[[], T], list[ConflictError]]:
        """``fn`` with its ConflictError re-raised in a person's words (``conflict_message``, read on the
        writer thread); the list gets the original error when that happened."""
        store = self.session.store
        conflicts: list[ConflictError] = []

        def run() -> T:
            try:
                return fn()
            except ConflictError as exc:
                conflicts.append(exc)
                message = conflict_message(store, exc, what)
                raise ConflictError(
                    exc.annotation_id, exc.expected_version, exc.actual_version, exc.attempted, what, message
                ) from exc

        return run, conflicts

    def may_edit(self) -> bool:
        """Before a person's edit of the open video: False when it is assigned to someone else and the
        person chose not to edit it (``session.edit_guard`` asks once per video). A read-only project is
        never asked about: nothing is stored there anyway (``write`` says so)."""
        s = self.session
        if s.project is None or s.video is None or s.read_only:
            return True
        owner = s.edit_guard.refused(s.project, s.video.id)
        if owner is None:
            return True
        self.say(f"Not changed: this video is assigned to {owner}", 5000)
        return False

    def say(self, text: str, ms: int = 4000) -> None:
        self.events.message.emit(text, ms)
