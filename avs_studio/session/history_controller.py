"""HistoryController: undo / redo of stored changes (they survive a restart: the store keeps the log).

After a step the session goes to the video and frame the step changed, so the user sees what came back.
"""

from __future__ import annotations

from typing import Any

from avs_studio.session.controller import Controller
from avs_studio.session.navigation_controller import NavigationController
from avs_studio.session.runners import Runner
from avs_studio.session.state import AnnotationSession
from avs_studio.store import RevisionRow


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
        fn = store.undo if what == "undo" else store.redo

        def done(rev: RevisionRow | None) -> None:
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
            step = "grouped change" if rev.group_id is not None else rev.action
            where = f" on frame {int(frame) + 1}" if frame is not None else ""
            self.say(f"{what}: {step}{where}", 3000)  # the window now shows that frame

        self.write(fn, done, what)
