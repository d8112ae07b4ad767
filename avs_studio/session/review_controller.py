"""ReviewController: A / R set the status of the selected object's mask on this frame; Shift+A accepts
every proposed or edited mask of the clip holding this frame (``jobs.review.accept_clip``, one undo step).
"""

from __future__ import annotations

from avs_studio.jobs.review import AcceptReport, accept_clip
from avs_studio.session.controller import Controller


class ReviewController(Controller):
    def review_selected(self, status: str) -> None:
        """A / R: accept or reject the selected object's mask here (or the frame's only mask, or its
        "nothing sounds here" proposal)."""
        s = self.session
        if s.project is None:
            return
        row = s.target_annotation()
        if row is None:
            self.say("The selected object has no mask on this frame")
            return
        if not self.may_edit():
            return
        store = s.store
        self.write(
            lambda: store.set_status(row.id, status, expected_version=row.version),
            lambda _row: s.reload(),
            status,
        )

    def accept(self) -> None:
        self.review_selected("accepted")

    def reject(self) -> None:
        self.review_selected("rejected")

    def accept_clip(self) -> None:
        """Shift+A: accept every proposed or edited mask of the clip holding this frame."""
        s = self.session
        if s.project is None or s.video is None or not self.may_edit():
            return
        project, vid, frame, size, kf = s.project, s.video.id, s.frame, s.clip_keyframes, list(s.keyframes)
        seen = dict(s.versions)  # masks another author changed since the window read them are not accepted
        fps = s.video.fps or 1.0

        def accepted(report: AcceptReport) -> None:
            s.reload(all_frames=True)
            span = f"{report.first / fps:.0f}–{report.end / fps:.0f} s"
            self.say(f"accepted {report.accepted} mask(s) in {span}")

        self.write(
            lambda: accept_clip(project, vid, frame, clip_keyframes=size, keyframe_list=kf, seen=seen),
            accepted,
            "clip acceptance",
        )
