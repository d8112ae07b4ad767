"""AnnotationSession: the state of one annotation window, without Qt (napari's ViewerModel to QtViewer).

It holds what the window shows (project, video, frame, keyframes and their review states, objects, the
shown frame's annotations, the selection, masks waiting to be stored) and says what changed through
``events``; the views draw from it, the controllers change it. Reads go to the store directly (small
indexed queries); writes go through the controllers, on the writer thread.
"""

from __future__ import annotations

import bisect

import numpy as np

from avs_studio.jobs import Project, keyframes
from avs_studio.jobs.clips import clip_length, clip_of
from avs_studio.jobs.engine import Engine
from avs_studio.jobs.propagate import frames_with_masks
from avs_studio.jobs.review import frame_state, state_of
from avs_studio.masks import resize_mask
from avs_studio.session.assignment_guard import AssignmentGuard
from avs_studio.session.display import Layer, reviewed_text
from avs_studio.session.events import Event
from avs_studio.session.media import MediaData
from avs_studio.session.prompts import ClipPrompt
from avs_studio.store import AnnotationRow, ObjectRow, Store, VideoRow

PendingKey = tuple[int, int, int]  # (video, frame, object)
DEFAULT_BRUSH = 8.0


class SessionEvents:
    """What a view or a controller can listen to (all emitted on the session's thread)."""

    def __init__(self) -> None:
        self.project_changed: Event[[]] = Event()
        self.video_changed: Event[[]] = Event()  # a video opened (or none): keyframes, objects reset
        self.video_missing: Event[[VideoRow]] = Event()  # the opened video's file is not where it was
        self.frame_requested: Event[[int, bool]] = Event()  # frame asked for, asked by playback
        self.frame_shown: Event[[int]] = Event()  # its pixels and annotations are in the session
        self.annotations_changed: Event[[]] = Event()  # objects / the shown frame's annotations re-read
        self.selection_changed: Event[[]] = Event()
        self.layers_changed: Event[[]] = Event()  # a mask waiting to be stored: the overlay only
        self.states_changed: Event[[]] = Event()  # review states of keyframes and frames (the timeline)
        self.counts_changed: Event[[int]] = Event()  # a video's annotation counts (project list)
        self.media_loaded: Event[[MediaData]] = Event()  # the open video's frame times, audio, waveform
        self.prompt_changed: Event[[ClipPrompt | None]] = Event()  # the current clip's OpenAVS exchange
        self.prompt_frame: Event[[int]] = Event()  # same clip, another keyframe to highlight
        self.preview: Event[[Layer | None]] = Event()  # a stroke being drawn (None: drawing ended)
        self.edit_ended: Event[[]] = Event()  # drop half-drawn strokes, polygons, clicks
        self.tool_status: Event[[str]] = Event()  # "brush 8 px", "SAM: computing…"
        self.message: Event[[str, int]] = Event()  # text, milliseconds to show it
        self.error: Event[[str, str]] = Event()  # title, message
        self.engine_changed: Event[[Engine | None]] = Event()  # the project's proposal engine (re-read)


class AnnotationSession:
    def __init__(self, *, clip_keyframes: int | None = None, brush_radius: float = DEFAULT_BRUSH) -> None:
        self.events = SessionEvents()
        self.project: Project | None = None
        self.video: VideoRow | None = None
        self.frame = -1  # the frame asked for
        self.shown = -1  # the frame on screen: ``image`` and ``annotations`` are its
        self.image: np.ndarray | None = None
        self.keyframes: list[int] = []
        self.states: list[str] = []  # review state per keyframe
        self.frame_states: dict[int, str] = {}  # every frame with annotations -> its review state
        self.objects: list[ObjectRow] = []
        self.annotations: dict[int | None, AnnotationRow] = {}  # object id (None: "nothing sounds")
        self.versions: dict[int, int] = {}  # annotation id -> version, of the video's rows as last read
        self.selected_object: int | None = None
        self.pending: dict[PendingKey, np.ndarray] = {}  # queued on the writer, shown until stored
        self.clip_keyframes = clip_keyframes if clip_keyframes is not None else clip_length()
        self.brush_radius = float(brush_radius)
        self.tool: str | None = None  # the active canvas tool's name
        self.write_failed = False  # the last write was refused (the status bar says so)
        self.edit_guard = AssignmentGuard()  # asks before editing a video assigned to someone else
        self._keyframe_set: set[int] = set()

    # ------------------------------------------------------------------ what is open
    @property
    def store(self) -> Store:
        if self.project is None:
            raise RuntimeError("no project is open")
        return self.project.store

    @property
    def read_only(self) -> str:
        """Why the open project cannot be changed ("" when it can): every write is refused up front."""
        return self.project.read_only if self.project is not None else ""

    @property
    def ready(self) -> bool:
        """A project and a video are open."""
        return self.project is not None and self.video is not None

    def set_project(self, project: Project | None) -> None:
        self.project = project
        self.edit_guard.reset()
        self._clear_video()
        self.events.project_changed.emit()

    def set_video(self, video: VideoRow | None) -> None:
        """Open ``video``: its keyframes, objects (first one selected) and keyframe review states."""
        self.events.edit_ended.emit()
        self._clear_video()
        self.video = video
        if video is not None and self.project is not None:
            self.keyframes = keyframes(video)
            self._keyframe_set = set(self.keyframes)
            self.objects = self.store.objects(video.id)
            self.selected_object = self.objects[0].id if self.objects else None
        self.events.video_changed.emit()
        self.refresh_states()

    def _clear_video(self) -> None:
        self.video, self.frame, self.shown, self.image = None, -1, -1, None
        self.keyframes, self.states, self.objects, self.annotations = [], [], [], {}
        self.frame_states = {}
        self.versions = {}
        self.selected_object = None
        self._keyframe_set = set()

    def show_frame(self, index: int, image: np.ndarray) -> None:
        """The pixels of ``index`` arrived: it is now the shown frame (annotations read)."""
        self.events.edit_ended.emit()
        self.shown, self.image = index, image
        self._read_annotations()
        self.events.frame_shown.emit(index)

    # ------------------------------------------------------------------ re-reading the store
    def reload(self, *, all_frames: bool = False) -> None:
        """Re-read objects and the shown frame's annotations after a change; ``all_frames``: the change
        touched many frames (proposals, a clip, undo): re-read every keyframe's state."""
        if self.project is None or self.video is None:
            return
        self.objects = self.store.objects(self.video.id)
        ids = [o.id for o in self.objects]
        if self.selected_object not in ids:
            self.selected_object = ids[0] if ids else None
        self._read_annotations()
        self.events.annotations_changed.emit()
        if all_frames:
            self.refresh_states()
        else:
            self._update_state(self.shown)
        self.events.counts_changed.emit(self.video.id)

    def refresh_frame(self) -> None:
        """Re-read the shown frame's annotations only (a cheaper ``reload``)."""
        self._read_annotations()
        self.events.annotations_changed.emit()

    def _read_annotations(self) -> None:
        if self.project is None or self.video is None or self.shown < 0:
            self.annotations = {}
            return
        rows = self.store.annotations(video_id=self.video.id, frame=self.shown)
        self.annotations = {r.object_id: r for r in rows}
        self.versions.update((r.id, r.version) for r in rows)

    def refresh_states(self) -> None:
        """Re-read the review state of every frame with annotations (keyframes: "unprocessed" without)."""
        if self.project is None or self.video is None:
            self.frame_states = {}
        else:
            marks = frames_with_masks(self.project, self.video.id)
            self.frame_states = {f: state_of(statuses) for f, statuses in marks.items()}
            self.versions = self.store.annotation_versions(self.video.id)  # what the window has seen
        self.states = [self.frame_states.get(k, "unprocessed") for k in self.keyframes]
        self.events.states_changed.emit()

    def refresh_frames(self, frames: list[int]) -> None:
        """Re-read the states of ``frames`` only (a job stored them), and the shown frame if among them."""
        if self.project is None or self.video is None:
            return
        changed = False
        for f in frames:
            rows = self.store.annotations(video_id=self.video.id, frame=f)
            changed |= self._set_state(f, frame_state(rows) if rows else None)
        if self.shown in frames:
            self.refresh_frame()
        if changed:
            self.events.states_changed.emit()

    def _update_state(self, frame: int) -> None:
        if frame < 0:
            return
        state = frame_state(self.annotations.values()) if self.annotations else None
        if self._set_state(frame, state):
            self.events.states_changed.emit()

    def _set_state(self, frame: int, state: str | None) -> bool:
        """Set one frame's state (None: it has no annotation); True when it changed."""
        if self.frame_states.get(frame) == state:
            return False
        if state is None:
            del self.frame_states[frame]
        else:
            self.frame_states[frame] = state
        i = bisect.bisect_left(self.keyframes, frame)
        if i < len(self.keyframes) and self.keyframes[i] == frame and i < len(self.states):
            self.states[i] = state or "unprocessed"
        return True

    # ------------------------------------------------------------------ selection and pending masks
    def select(self, object_id: int | None) -> None:
        if object_id == self.selected_object:
            return
        self.events.edit_ended.emit()
        self.selected_object = object_id
        self.events.selection_changed.emit()

    def selected(self) -> ObjectRow | None:
        return next((o for o in self.objects if o.id == self.selected_object), None)

    def set_pending(self, key: PendingKey, mask: np.ndarray) -> None:
        self.pending[key] = mask
        self.events.layers_changed.emit()

    def drop_pending(self, key: PendingKey, mask: np.ndarray | None = None) -> None:
        """Forget the pending mask of ``key`` (only if it is still ``mask``, when given)."""
        if key in self.pending and (mask is None or self.pending[key] is mask):
            del self.pending[key]

    # ------------------------------------------------------------------ derived, for views and controllers
    def frame_shape(self) -> tuple[int, int] | None:
        return None if self.image is None else (int(self.image.shape[0]), int(self.image.shape[1]))

    def mask_of(self, object_id: int | None) -> np.ndarray | None:
        """The shown frame's mask of an object as drawn and edited: the pending one, else the stored one
        at the frame's size (e.g. imported at 224x224); None when it has none."""
        if self.video is None or object_id is None:
            return None
        mask = self.pending.get((self.video.id, self.shown, object_id))
        if mask is None:
            row = self.annotations.get(object_id)
            mask = row.mask() if row is not None else None
        shape = self.frame_shape()
        if mask is not None and shape is not None and mask.shape != shape:
            mask = resize_mask(mask, shape)
        return mask

    def layers(self) -> list[Layer]:
        """The overlay: one layer per visible object with a mask here, in object order."""
        out = []
        for obj in self.objects:
            mask = self.mask_of(obj.id) if obj.visible else None
            if mask is not None:
                row = self.annotations.get(obj.id)
                waiting = self.video is not None and (self.video.id, self.shown, obj.id) in self.pending
                status = "edited" if waiting or row is None else row.status
                out.append(Layer(mask, obj.colour, obj.id == self.selected_object, status))
        return out

    def target_annotation(self) -> AnnotationRow | None:
        """What A / R review: the selected object's mask here; else the only mask here; else the frame's
        explicit "nothing sounds here" proposal (accepting it confirms the frame is silent)."""
        row = self.annotations.get(self.selected_object) if self.selected_object is not None else None
        if row is None:
            rows = [r for r in self.annotations.values() if r.object_id is not None]
            if len(rows) == 1:
                row = rows[0]
            elif not rows:
                row = self.annotations.get(None)
        return row

    def review_text(self) -> str:
        row = self.annotations.get(self.selected_object) if self.selected_object is not None else None
        return reviewed_text(row)

    def object_annotations(self) -> dict[int, AnnotationRow]:
        return {k: v for k, v in self.annotations.items() if k is not None}

    def is_keyframe(self, frame: int) -> bool:
        return frame in self._keyframe_set

    def keyframe_status(self) -> dict[int, str]:
        return dict(zip(self.keyframes, self.states, strict=False))

    def clip(self, frame: int | None = None) -> tuple[int, int]:
        """[first, end) frames of the clip holding ``frame`` (default: the frame asked for)."""
        count = self.video.frame_count if self.video is not None else 0
        at = self.frame if frame is None else frame
        return clip_of(self.keyframes, max(at, 0), self.clip_keyframes, count)

    def fps(self) -> float:
        return float(self.video.fps or 25.0) if self.video is not None else 25.0
