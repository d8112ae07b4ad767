"""EditController: the ``Editor`` the canvas tools talk to, and the edits of keys (fill holes, copy the
previous keyframe, brush size, SAM clicks).

Every change is one use case on the writer (``jobs.editing.save_mask`` for a stroke: one transaction and
one undo step that never overwrites what another annotator stored meanwhile; ``jobs.review`` for C), so
the window never waits on the disk. Until a mask is stored it is shown from ``session.pending``.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import Any

import numpy as np

from avs_studio.jobs.clips import frame_key
from avs_studio.jobs.editing import save_mask
from avs_studio.jobs.review import CopyReport, copy_previous_keyframe
from avs_studio.masks import fill_holes
from avs_studio.session.controller import CONFLICT_TITLE, Controller
from avs_studio.session.display import Layer, frame_number
from avs_studio.session.runners import FrameSource, Runner, Worker
from avs_studio.session.state import AnnotationSession
from avs_studio.store import ObjectRow

MIN_RADIUS, MAX_RADIUS = 1.0, 200.0
SIZED_TOOLS = ("brush", "eraser")  # tools whose size the status bar shows
POINT_TOOL = "sam"


class EditController(Controller):
    def __init__(
        self, session: AnnotationSession, writer: Runner, worker: Worker, frames: FrameSource
    ) -> None:
        super().__init__(session, writer)
        self.worker = worker
        self.frames = frames
        self.events.frame_shown.connect(self._frame_shown)

    # ------------------------------------------------------------------ the Editor protocol (gui.tools)
    @property
    def brush_radius(self) -> float:
        return self.session.brush_radius

    def editable_object(self, create: bool = True) -> ObjectRow | None:
        """The selected object (adding "object 1" to a video without objects); None if not editable."""
        s = self.session
        if s.project is None or s.video is None or s.image is None or not self.may_edit():
            return None
        if s.read_only:
            self.say(f"Read-only project ({s.read_only}): nothing can be edited", 5000)
            return None
        if s.selected_object is None and create and not s.objects:
            oid = s.store.add_object(s.video.id, "object 1")
            s.objects = s.store.objects(s.video.id)
            s.selected_object = oid
            self.events.annotations_changed.emit()
        obj = s.selected()
        if obj is None:
            self.say("Select an object first (keys 1…9 or the object list)", 5000)
            return None
        if obj.locked:
            self.say(f"{obj.label!r} is locked: unlock it in the object list to edit", 5000)
            return None
        return obj

    def editable_mask(self) -> np.ndarray | None:
        """A copy of the selected object's mask on the shown frame (empty if it has none); None: not editable."""
        obj = self.editable_object()
        shape = self.session.frame_shape()
        if obj is None or shape is None:
            return None
        mask = self.session.mask_of(obj.id)
        return np.zeros(shape, bool) if mask is None else mask.copy()

    def preview_mask(self, mask: np.ndarray) -> None:
        obj = self.session.selected()
        if obj is not None:
            self.events.preview.emit(Layer(mask, obj.colour, True))

    def end_preview(self) -> None:
        self.events.preview.emit(None)

    def commit_mask(self, mask: np.ndarray, object_id: int | None = None) -> None:
        """Store ``mask`` as the object's (default: the selected one's) mask on the shown frame."""
        s = self.session
        if s.project is None or s.video is None:
            return
        oid = object_id if object_id is not None else s.selected_object
        if oid is None or s.read_only or not self.may_edit():
            return
        vid, frame, store = s.video.id, s.shown, s.store
        key = (vid, frame, oid)
        # the row this edit changes, as seen; a stroke still in flight replaces this author's own row
        seen = s.annotations.get(oid) if key not in s.pending else None
        empty = s.annotations.get(None)  # an explicit "nothing sounds here" this mask contradicts
        s.set_pending(key, mask)

        put, conflicts = self.guard(
            lambda: save_mask(store, vid, frame, oid, mask, seen=seen, empty=empty), "stroke"
        )

        def stored(_row: Any) -> None:
            s.write_failed = False
            s.drop_pending(key, mask)
            s.reload()
            if not s.is_keyframe(frame):
                self.say(f"frame {frame + 1} is not a keyframe: its mask is stored and the frame now counts as "
                         "reviewed (propagation keeps it; PNG and COCO export it)", 6000)  # fmt: skip

        def failed(message: str) -> None:
            s.write_failed = True
            s.drop_pending(key)
            self.events.error.emit(CONFLICT_TITLE if conflicts else "The stroke was not stored", message)
            s.reload(all_frames=bool(conflicts))

        self.writer.submit(put, on_done=stored, on_error=failed)

    def sam_request(
        self, points: np.ndarray, labels: np.ndarray, box: tuple[float, float, float, float] | None
    ) -> None:
        """SAM clicks on the shown frame: the worker answers with a mask, stored as a stroke would be."""
        s = self.session
        obj = self.editable_object()
        if obj is None or s.image is None or s.video is None:
            return
        vid, frame, oid = s.video.id, s.shown, obj.id
        self.events.tool_status.emit("SAM: computing…")

        def done(mask: Any) -> None:
            self.events.tool_status.emit("")
            if s.video is None or (s.video.id, s.shown, s.selected_object) != (vid, frame, oid):
                return  # the user moved on: drop it
            self.commit_mask(np.asarray(mask, bool), oid)

        def failed(message: str) -> None:
            self.events.tool_status.emit("")
            self.events.error.emit("SAM refinement failed", message)

        self.worker.segment_points(frame_key(vid, frame), s.image, points, labels, box, done, failed)

    # ------------------------------------------------------------------ tools and keys
    def set_tool(self, name: str | None) -> None:
        """The canvas tool changed (None: no tool); SAM loads its model and embeds frames ahead."""
        s = self.session
        s.tool = name
        if name is None:
            self.events.tool_status.emit("")
            return
        sized = f" ({s.brush_radius:.0f} px)" if name in SIZED_TOOLS else ""
        self.events.tool_status.emit(f"tool: {name}{sized}")
        if name == POINT_TOOL:
            self.worker.submit(
                self.worker.point_segmenter,
                on_done=lambda _segmenter: self.prefetch_embeddings(),
                on_error=lambda message: self.events.error.emit("SAM is not available", message),
            )

    def set_brush_radius(self, radius: float) -> None:
        self.session.brush_radius = float(min(max(radius, MIN_RADIUS), MAX_RADIUS))
        self.events.tool_status.emit(f"brush {self.session.brush_radius:.0f} px")

    def fill_holes(self) -> None:
        mask = self.editable_mask()
        if mask is not None:
            self.commit_mask(fill_holes(mask))

    def copy_previous_keyframe(self) -> None:
        """C: copy every object's mask of the previous keyframe onto this frame (locked objects skipped)."""
        s = self.session
        if s.project is None or s.video is None:
            return
        if bisect.bisect_left(s.keyframes, s.frame) == 0:
            self.say("No keyframe before this frame")
            return
        if not self.may_edit():
            return
        project, vid, frame, kf = s.project, s.video.id, s.shown, list(s.keyframes)
        seen = dict(s.annotations)  # the rows of this frame the person sees: replaced only at their version

        def copied(report: CopyReport) -> None:
            s.reload()
            source = frame_number(report.source) if report.source is not None else "?"
            if report.copied:
                self.say(f"copied {report.copied} mask(s) from frame {source}")
            else:
                self.say(f"Keyframe {source} has no masks to copy")

        self.write(
            lambda: copy_previous_keyframe(project, vid, frame, keyframe_list=kf, seen=seen), copied, "copy"
        )

    # ------------------------------------------------------------------ SAM embeddings ahead of clicks
    def _frame_shown(self, _index: int) -> None:
        self.worker.generation += 1  # prefetches for the frames left behind are skipped
        self.prefetch_embeddings()

    def prefetch_embeddings(self) -> None:
        """With the SAM tool on, embed this frame and the neighbouring keyframes in the background."""
        s = self.session
        if s.video is None or s.tool != POINT_TOOL or s.image is None:
            return
        vid, path, image, frame = s.video.id, s.video.path, s.image, s.frame
        self.worker.embed_ahead(frame_key(vid, frame), lambda: image)
        reader = self.frames.reader

        def decode(k: int) -> Callable[[], np.ndarray]:
            return lambda: reader(path).frame(k)

        i = bisect.bisect_right(s.keyframes, frame)
        for k in s.keyframes[i : i + 2] + s.keyframes[max(0, i - 2) : i][-1:]:
            if k != frame:
                self.worker.embed_ahead(frame_key(vid, k), decode(k))
