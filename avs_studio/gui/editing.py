"""Editing, review, objects and undo for the main window (the ``Editor`` the tools talk to).

Every change is one store call on the writer thread (a committed transaction with its revision), so
the GUI never waits on the disk; the status bar says "saving…" until it is stored.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from avs_studio.gui.render import Layer
from avs_studio.gui.review import clip_range, frame_state, next_needing_review
from avs_studio.masks import fill_holes

if TYPE_CHECKING:
    from avs_studio.gui.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object


class EditingMixin(_Base):
    # ------------------------------------------------------------------ writes
    def write(
        self, fn: Callable[[], Any], then: Callable[[Any], None] | None = None, what: str = "edit"
    ) -> int:
        """Run ``fn`` (store calls) on the writer thread; ``then(result)`` runs on the GUI thread."""

        def failed(message: str) -> None:
            self.status.set_stored("failed")
            self.show_error(f"The {what} was not stored", message)
            self.reload(all_frames=True)

        return self.writer.submit(fn, on_done=then, on_error=failed)

    def reload(self, *, all_frames: bool = False) -> None:
        """Re-read objects and the shown frame's annotations after a change; the frame's keyframe tick
        follows at once, the project panel's counts a moment later (coalesced). ``all_frames``: the
        change touched many frames (proposals, a whole clip): re-read every keyframe's state."""
        if self.project is None or self.video is None:
            return
        self.objects = self.project.store.objects(self.video.id)
        ids = [o.id for o in self.objects]
        if self.selected_object not in ids:
            self.selected_object = ids[0] if ids else None
        self.load_frame_annotations()
        if all_frames:
            self._refresh_states()
        else:
            self._update_frame_state(self.canvas.frame_index, list(self.frame_annotations.values()))
        self._panel_timer.start()

    def _update_frame_state(self, frame: int, rows: list[Any]) -> None:
        i = bisect.bisect_left(self.keyframes, frame)
        if i < len(self.keyframes) and self.keyframes[i] == frame and i < len(self.states):
            state = frame_state(rows)
            if self.states[i] != state:
                self.states[i] = state
                self.timeline.set_keyframe_status(dict(zip(self.keyframes, self.states)))

    def _refresh_panel(self) -> None:
        if self.video is not None:
            self.project_panel.refresh_video(self.video.id)

    def load_frame_annotations(self) -> None:
        """Annotations of the shown frame -> overlay, object panel, status bar (a small indexed read)."""
        if self.project is None or self.video is None or self.canvas.frame_index < 0:
            return
        rows = self.project.store.annotations(video_id=self.video.id, frame=self.canvas.frame_index)
        self.frame_annotations = {r.object_id: r for r in rows}
        self.refresh_layers()
        anns = {k: v for k, v in self.frame_annotations.items() if k is not None}
        self.object_panel.set_objects(self.objects, anns, self.selected_object)
        self._show_review_state()

    def refresh_layers(self) -> None:
        if self.video is None:
            return
        layers = []
        for obj in self.objects:
            if not obj.visible:
                continue
            mask = self._pending.get((self.video.id, self.canvas.frame_index, obj.id))
            if mask is None:
                row = self.frame_annotations.get(obj.id)
                mask = row.mask() if row is not None else None
            if mask is not None:
                layers.append(Layer(mask, obj.colour, obj.id == self.selected_object))
        self.canvas.set_layers(layers)

    def _show_review_state(self) -> None:
        row = self.frame_annotations.get(self.selected_object) if self.selected_object is not None else None
        if row is None:
            text = ""
        elif row.reviewed_by and row.reviewed_at:
            text = f"{row.status} by {row.reviewed_by} {row.reviewed_at.astimezone():%Y-%m-%d %H:%M}"
        else:
            text = row.status
        self.status.set_review(text)

    # ------------------------------------------------------------------ the Editor protocol (tools)
    def _selected(self, create: bool = True) -> Any:
        """The selected object (adding "object 1" to a video without objects); None if not editable."""
        if self.project is None or self.video is None or self.canvas.image is None:
            return None
        if self.selected_object is None and create and not self.objects:
            oid = self.project.store.add_object(self.video.id, "object 1")
            self.objects = self.project.store.objects(self.video.id)
            self.selected_object = oid
            self.object_panel.set_objects(self.objects, {}, oid)
        obj = next((o for o in self.objects if o.id == self.selected_object), None)
        if obj is None:
            self.status.showMessage("Select an object first (keys 1…9 or the object list)", 5000)
            return None
        if obj.locked:
            self.status.showMessage(f"{obj.label!r} is locked: unlock it in the object list to edit", 5000)
            return None
        return obj

    def editable_mask(self) -> np.ndarray | None:
        obj = self._selected()
        if obj is None:
            return None
        key = (self.video.id, self.canvas.frame_index, obj.id)
        if key in self._pending:
            return self._pending[key].copy()
        row = self.frame_annotations.get(obj.id)
        h, w = self.canvas.image.shape[:2]
        if row is not None and (row.height, row.width) == (h, w):
            return row.mask()
        return np.zeros((h, w), bool)

    def preview_mask(self, mask: np.ndarray) -> None:
        obj = next((o for o in self.objects if o.id == self.selected_object), None)
        if obj is not None:
            self.canvas.set_preview(Layer(mask, obj.colour, True))

    def end_preview(self) -> None:
        self.canvas.set_preview(None)

    def end_edit(self) -> None:
        """Drop a half-drawn stroke/polygon/SAM points (frame, video or object changes)."""
        tool = self.canvas.tool
        if tool is not None:
            tool.reset()

    def commit_mask(self, mask: np.ndarray, object_id: int | None = None) -> None:
        """Store ``mask`` as the selected object's mask on the shown frame: one transaction, one revision."""
        if self.project is None or self.video is None:
            return
        oid = object_id if object_id is not None else self.selected_object
        vid, frame = self.video.id, self.canvas.frame_index
        key = (vid, frame, oid)
        row = self.frame_annotations.get(oid)
        expected = row.version if row is not None and key not in self._pending else None
        source = row.source if row is not None else "manual"
        self._pending[key] = mask
        self.refresh_layers()
        store = self.project.store

        def put() -> Any:
            return store.put_annotation(
                vid, frame, oid, mask, source=source, status="edited", expected_version=expected
            )

        def stored(_row: Any) -> None:
            if self._pending.get(key) is mask:
                del self._pending[key]
            self.reload()

        def failed(message: str) -> None:
            self._pending.pop(key, None)
            self.status.set_stored("failed")
            self.show_error("The stroke was not stored", message)
            self.reload()

        self.writer.submit(put, on_done=stored, on_error=failed)

    def sam_request(self, points: np.ndarray, labels: np.ndarray, box: tuple | None) -> None:
        obj = self._selected()
        if obj is None or self.canvas.image is None:
            return
        vid, frame, oid = self.video.id, self.canvas.frame_index, obj.id
        image = self.canvas.image
        self.status.set_tool("SAM: computing…")

        def done(mask: Any) -> None:
            self.status.set_tool("")
            if self.video is None or (self.video.id, self.canvas.frame_index, self.selected_object) != (
                vid,
                frame,
                oid,
            ):
                return  # the user moved on: drop it
            self.commit_mask(np.asarray(mask, bool), oid)

        def failed(message: str) -> None:
            self.status.set_tool("")
            self.show_error("SAM refinement failed", message)

        self.worker.segment_points(self.sam_key(vid, frame), image, points, labels, box, done, failed)

    @staticmethod
    def sam_key(video_id: int, frame: int) -> str:
        return f"video:{video_id}:{frame}"

    def _prefetch_embeddings(self) -> None:
        """With the SAM tool on, embed this frame and the neighbouring keyframes in the background."""
        if self.video is None or self.canvas.tool is not self.tools["sam"] or self.canvas.image is None:
            return
        vid, path = self.video.id, self.video.path
        image = self.canvas.image
        self.worker.embed_ahead(self.sam_key(vid, self.frame), lambda: image)
        i = bisect.bisect_right(self.keyframes, self.frame)
        for k in self.keyframes[i : i + 2] + self.keyframes[max(0, i - 2) : i][-1:]:
            if k != self.frame:
                self.worker.embed_ahead(self.sam_key(vid, k), lambda k=k: self.frames.reader(path).frame(k))

    # ------------------------------------------------------------------ tools
    def _tool_toggled(self, name: str, on: bool) -> None:
        if on:
            self.canvas.set_tool(self.tools[name])
            self.status.set_tool(
                f"tool: {name}" + (f" ({self.brush_radius:.0f} px)" if name in ("brush", "eraser") else "")
            )
            if name == "sam":
                self._ensure_point_segmenter()
        elif self.canvas.tool is self.tools[name]:
            self.canvas.set_tool(None)
            self.status.set_tool("")

    def _ensure_point_segmenter(self) -> None:
        """Load the point segmenter on the worker, then embed this frame and its neighbours ahead."""

        def failed(message: str) -> None:
            self.show_error("SAM is not available", message)

        self.worker.submit(
            self.worker.point_segmenter, on_done=lambda _s: self._prefetch_embeddings(), on_error=failed
        )

    def set_tool(self, name: str | None) -> None:
        if name is None:
            checked = self.tool_group.checkedAction()
            if checked is not None:
                checked.setChecked(False)
        else:
            self.actions[f"tool_{name}"].setChecked(True)

    def set_brush_radius(self, radius: float) -> None:
        from avs_studio.gui.tools import MAX_RADIUS, MIN_RADIUS

        self.brush_radius = float(min(max(radius, MIN_RADIUS), MAX_RADIUS))
        self.status.set_tool(f"brush {self.brush_radius:.0f} px")

    def fill_holes(self) -> None:
        mask = self.editable_mask()
        if mask is not None:
            self.commit_mask(fill_holes(mask))

    def copy_previous_keyframe(self) -> None:
        """Copy every object's mask of the previous keyframe onto this frame (locked objects skipped)."""
        if self.project is None or self.video is None:
            return
        i = bisect.bisect_left(self.keyframes, self.frame) - 1
        if i < 0:
            self.status.showMessage("No keyframe before this frame", 4000)
            return
        src = self.keyframes[i]
        rows = [
            r
            for r in self.project.store.annotations(video_id=self.video.id, frame=src)
            if r.object_id is not None
        ]
        locked = {o.id for o in self.objects if o.locked}
        rows = [r for r in rows if r.object_id not in locked]
        if not rows:
            self.status.showMessage(f"Keyframe {src} has no masks to copy", 4000)
            return
        store, vid, frame = self.project.store, self.video.id, self.canvas.frame_index

        def copy() -> int:
            for r in rows:
                store.put_annotation(vid, frame, r.object_id, r.rle, source="manual", status="edited")
            return len(rows)

        self.write(
            copy,
            lambda n: (self.reload(), self.status.showMessage(f"copied {n} mask(s) from frame {src}", 4000)),
        )

    # ------------------------------------------------------------------ review
    def _target_annotation(self) -> Any:
        row = self.frame_annotations.get(self.selected_object) if self.selected_object is not None else None
        if row is None:
            rows = [r for r in self.frame_annotations.values() if r.object_id is not None]
            if len(rows) == 1:
                row = rows[0]
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
            self.status.showMessage(f"{what}: {rev.action} of annotation {rev.annotation_id}", 3000)

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
