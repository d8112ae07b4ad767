"""Review, undo/redo and the object list for the main window.

A / R set the status of the selected object's mask on this frame; Shift+A accepts every proposed or
edited mask of the current 5-second clip (0-5 s, 5-10 s, ...) of this video, the unit OpenAVS proposes
and AVSBench annotates, as one undo step; N goes to the next keyframe that is unprocessed, proposed or
edited. Every change runs on the writer thread (see EditingMixin.write).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from avs_studio.gui.review import clip_range, next_needing_review

if TYPE_CHECKING:
    from avs_studio.gui.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object


class ReviewMixin(_Base):
    # ------------------------------------------------------------------ review
    def _target_annotation(self) -> Any:
        """The selected object's mask here; else the only mask here; else the explicit "nothing sounds
        here" proposal of this frame (accepting it confirms the frame is silent)."""
        row = self.frame_annotations.get(self.selected_object) if self.selected_object is not None else None
        if row is None:
            rows = [r for r in self.frame_annotations.values() if r.object_id is not None]
            if len(rows) == 1:
                row = rows[0]
            elif not rows:
                row = self.frame_annotations.get(None)
        return row

    def review_selected(self, status: str) -> None:
        """A / R: accept or reject the selected object's mask on this frame."""
        if self.project is None:
            return
        row = self._target_annotation()
        if row is None:
            self.status.showMessage("The selected object has no mask on this frame", 4000)
            return
        store = self.project.store
        self.write(
            lambda: store.set_status(row.id, status, expected_version=row.version),
            lambda _r: self.reload(),
            status,
        )

    def accept_clip(self) -> None:
        """Shift+A: accept every proposed or edited mask of the current 5-second clip of this video."""
        if self.project is None or self.video is None:
            return
        first, end = clip_range(self.frame, self.video.fps, self.video.frame_count)
        store, vid = self.project.store, self.video.id
        rows = [
            r
            for r in store.annotations(video_id=vid, status=("proposed", "edited"))
            if first <= r.frame < end
        ]

        def accept() -> int:
            with store.group():  # one transaction, one undo step
                for r in rows:
                    store.set_status(r.id, "accepted", expected_version=r.version)
            return len(rows)

        fps = self.video.fps or 1.0
        self.write(
            accept,
            lambda n: (
                self.reload(all_frames=True),
                self.status.showMessage(f"accepted {n} mask(s) in {first / fps:.0f}–{end / fps:.0f} s", 4000),
            ),
            "clip acceptance",
        )

    def next_review(self) -> None:
        target = next_needing_review(self.keyframes, self.states, self.frame)
        if target is None:
            self.status.showMessage("Every keyframe of this video is reviewed", 4000)
        else:
            self.seek(target)

    # ------------------------------------------------------------------ undo / redo
    def undo(self) -> None:
        self._step_history("undo")

    def redo(self) -> None:
        self._step_history("redo")

    def _step_history(self, what: str) -> None:
        if self.project is None:
            return
        self.end_edit()
        store = self.project.store
        fn = store.undo if what == "undo" else store.redo

        def done(rev: Any) -> None:
            if rev is None:
                self.status.showMessage(f"Nothing to {what}", 3000)
                return
            snap = (rev.before if what == "undo" else rev.after) or rev.after or rev.before or {}
            vid, frame = snap.get("video_id"), snap.get("frame")
            if vid is not None and self.video is not None and vid != self.video.id:
                self.open_video(int(vid))
            if frame is not None and frame != self.frame:
                self.seek(int(frame))
            self.reload(all_frames=True)
            step = (
                "grouped change"
                if rev.group_id is not None
                else f"{rev.action} of annotation {rev.annotation_id}"
            )
            self.status.showMessage(f"{what}: {step}", 3000)

        self.write(fn, done, what)

    # ------------------------------------------------------------------ objects
    def _object_selected(self, object_id: int | None) -> None:
        if object_id == self.selected_object:
            return
        self.end_edit()
        self.selected_object = object_id
        self.refresh_layers()
        self._show_review_state()

    def select_object_number(self, number: int) -> None:
        if 1 <= number <= len(self.objects):
            self._object_selected(self.objects[number - 1].id)
            self.load_frame_annotations()

    def add_object(self, label: str) -> None:
        if self.project is None or self.video is None:
            return
        store, vid = self.project.store, self.video.id

        def added(oid: int) -> None:
            self.selected_object = oid
            self.reload()

        self.write(lambda: store.add_object(vid, label), added, "new object")

    def rename_object(self, object_id: int, label: str) -> None:
        store = self.project.store
        self.write(lambda: store.update_object(object_id, label=label), lambda _r: self.reload(), "rename")

    def set_object_flags(self, object_id: int, visible: bool, locked: bool) -> None:
        store = self.project.store
        self.write(
            lambda: store.update_object(object_id, visible=visible, locked=locked),
            lambda _r: self.reload(),
            "change",
        )

    def merge_objects(self, keep_id: int, drop_id: int) -> None:
        store = self.project.store
        self.write(
            lambda: store.merge_objects(keep_id, drop_id), lambda _r: self.reload(all_frames=True), "merge"
        )

    def delete_object(self, object_id: int) -> None:
        store = self.project.store
        self.write(
            lambda: store.delete_object(object_id), lambda _r: self.reload(all_frames=True), "deletion"
        )
