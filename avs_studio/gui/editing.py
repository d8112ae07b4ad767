"""Editing for the main window: the ``Editor`` the tools talk to, the store writes, the overlay.

Every change is one store call on the writer thread (a committed transaction with its revision; a
change of many rows, like C, is one ``Store.group``: one transaction and one undo step), so
the GUI never waits on the disk; the status bar says "saving…" until it is stored.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from avs_studio.gui.panels.object_panel import when
from avs_studio.gui.render import Layer
from avs_studio.gui.review import frame_state
from avs_studio.masks import fill_holes, resize_mask
from avs_studio.store import NotFoundError

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

        def done(value: Any) -> None:
            self.write_failed = False
            if then is not None:
                then(value)

        def failed(message: str) -> None:
            self.write_failed = True
            self.show_error(f"The {what} was not stored", message)
            self.reload(all_frames=True)

        return self.writer.submit(fn, on_done=done, on_error=failed)

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
                if self.canvas.image is not None and mask.shape != self.canvas.image.shape[:2]:
                    mask = resize_mask(mask, self.canvas.image.shape[:2])
                layers.append(Layer(mask, obj.colour, obj.id == self.selected_object))
        self.canvas.set_layers(layers)

    def _show_review_state(self) -> None:
        row = self.frame_annotations.get(self.selected_object) if self.selected_object is not None else None
        if row is None:
            text = ""
        elif row.reviewed_by and row.reviewed_at:
            text = f"{row.status} by {row.reviewed_by} {when(row.reviewed_at)}"
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
        if row is None:
            return np.zeros((h, w), bool)
        mask = row.mask()
        return mask if mask.shape == (h, w) else resize_mask(mask, (h, w))  # e.g. imported at 224x224

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
        empty = self.frame_annotations.get(None)  # an explicit "nothing sounds here" this mask contradicts
        self._pending[key] = mask
        self.refresh_layers()
        store = self.project.store

        def put() -> Any:
            stored = store.put_annotation(
                vid, frame, oid, mask, source=source, status="edited", expected_version=expected
            )
            if empty is not None and mask.any():
                with contextlib.suppress(NotFoundError):  # someone removed it already
                    store.delete_annotation(empty.id)
            return stored

        def stored(_row: Any) -> None:
            self.write_failed = False
            if self._pending.get(key) is mask:
                del self._pending[key]
            self.reload()

        def failed(message: str) -> None:
            self.write_failed = True
            self._pending.pop(key, None)
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
            with store.group():  # one transaction, one undo step
                for r in rows:
                    store.put_annotation(vid, frame, r.object_id, r.rle, source="manual", status="edited")
            return len(rows)

        self.write(
            copy,
            lambda n: (self.reload(), self.status.showMessage(f"copied {n} mask(s) from frame {src}", 4000)),
        )
