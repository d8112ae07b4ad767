"""HistoryController: undo / redo of stored changes (they survive a restart: the store keeps the log).

After a step the session goes to the video and frame the step changed, so the user sees what came back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from avs_studio.session.controller import Controller
from avs_studio.session.display import frame_number
from avs_studio.session.navigation_controller import NavigationController
from avs_studio.session.runners import Runner
from avs_studio.session.state import AnnotationSession
from avs_studio.store import ObjectRow, RevisionRow

GROUP_READ = 1000  # revisions read to count a group's changes
ACTIONS = {"create": "new mask", "update": "mask edit", "status": "review", "delete": "deletion"}


def step_text(rev: RevisionRow, objects: Sequence[ObjectRow]) -> str:
    """ "mask edit of “drum” on frame 12": what an undo/redo step changed, by label and 1-based frame."""
    snap: dict[str, Any] = rev.after or rev.before or {}
    step = ACTIONS.get(rev.action, rev.action)
    oid, frame = snap.get("object_id"), snap.get("frame")
    label = "nothing sounds here" if oid is None else next((o.label for o in objects if o.id == oid), None)
    step += f" of “{label}”" if label and "object_id" in snap else ""
    return step + (f" on frame {frame_number(int(frame))}" if frame is not None else "")


class HistoryController(Controller):
    def __init__(self, session: AnnotationSession, writer: Runner, navigation: NavigationController) -> None:
        super().__init__(session, writer)
        self.navigation = navigation

    def undo(self) -> None:
        self._step("undo")

    def redo(self) -> None:
        self._step("redo")

    def _step(self, what: str) -> None:
        s = self.session
        if s.project is None:
            return
        self.events.edit_ended.emit()
        store = s.store
        step = store.undo if what == "undo" else store.redo

        def fn() -> tuple[RevisionRow | None, int]:
            rev = step()
            if rev is None or rev.group_id is None:
                return rev, 1
            return rev, sum(r.group_id == rev.group_id for r in store.revisions(limit=GROUP_READ))

        def done(result: tuple[RevisionRow | None, int]) -> None:
            rev, count = result
            if rev is None:
                self.say(f"Nothing to {what}", 3000)
                return
            snap: dict[str, Any] = (
                (rev.before if what == "undo" else rev.after) or rev.after or rev.before or {}
            )
            vid, frame = snap.get("video_id"), snap.get("frame")
            if vid is not None and s.video is not None and vid != s.video.id:
                self.navigation.open_video(int(vid))
            if frame is not None and frame != s.frame:
                self.navigation.seek(int(frame))
            s.reload(all_frames=True)
            more = f" and {count - 1} more change(s) made with it" if count > 1 else ""
            self.say(f"{what}: {step_text(rev, s.objects)}{more}", 3000)  # the window now shows that frame

        self.write(fn, done, what)
