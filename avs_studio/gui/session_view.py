"""SessionView: draws an AnnotationSession into the window's widgets (napari's QtViewer side).

It is the only code that turns session state into pixels and labels: canvas frame and overlay, object
list, status bar, timeline ticks and waveform, playback media, prompt panel. It listens to the session's
events and reads the session; it changes nothing but widgets.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, QTimer

from avs_studio.gui.canvas import Canvas
from avs_studio.gui.panels import ObjectPanel, ProjectPanel, PromptPanel
from avs_studio.gui.playback import PlaybackController
from avs_studio.gui.statusbar import StatusBar
from avs_studio.gui.timeline import TimelineWidget
from avs_studio.session import AnnotationSession, ClipPrompt, MediaData

PANEL_REFRESH_MS = 400  # project list counts after edits: coalesced


class SessionView(QObject):
    def __init__(
        self,
        session: AnnotationSession,
        *,
        canvas: Canvas,
        timeline: TimelineWidget,
        playback: PlaybackController,
        status: StatusBar,
        project_panel: ProjectPanel,
        object_panel: ObjectPanel,
        prompt_panel: PromptPanel,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.canvas, self.timeline, self.playback, self.status = canvas, timeline, playback, status
        self.project_panel, self.object_panel, self.prompt_panel = project_panel, object_panel, prompt_panel
        self.panel_timer = QTimer(self)
        self.panel_timer.setSingleShot(True)
        self.panel_timer.setInterval(PANEL_REFRESH_MS)
        self.panel_timer.timeout.connect(self._refresh_panel)
        e = session.events
        e.project_changed.connect(self.project_changed)
        e.video_changed.connect(self.video_changed)
        e.frame_requested.connect(self.frame_requested)
        e.frame_shown.connect(self.frame_shown)
        e.annotations_changed.connect(self.annotations_changed)
        e.selection_changed.connect(self.selection_changed)
        e.layers_changed.connect(self.draw_layers)
        e.states_changed.connect(self.states_changed)
        e.counts_changed.connect(self.counts_changed)
        e.media_loaded.connect(self.media_loaded)
        e.prompt_changed.connect(self.prompt_changed)
        e.prompt_frame.connect(prompt_panel.highlight)
        e.preview.connect(canvas.set_preview)
        e.edit_ended.connect(self.end_edit)
        e.tool_status.connect(status.set_tool)
        e.message.connect(status.showMessage)

    # ------------------------------------------------------------------ project and video
    def project_changed(self) -> None:
        self.canvas.clear()
        self.project_panel.set_project(self.session.project)

    def video_changed(self) -> None:
        video = self.session.video
        self.playback.stop()
        self.canvas.clear()
        self.canvas.set_notice("")
        if video is None:
            return
        self.project_panel.select_video(video.id)
        # ticks and playhead at once (nominal frame times), the waveform when the media has loaded
        self.timeline.set_media(video.duration, np.arange(video.frame_count) / (video.fps or 25.0))

    def media_loaded(self, media: MediaData) -> None:
        s, video = self.session, self.session.video
        if video is None:
            return
        self.timeline.set_media(video.duration, media.times, media.pyramid, media.audio)
        self.states_changed()
        self.timeline.set_frame(max(s.frame, 0))
        self.playback.set_media(media.times, media.audio, video.duration)
        self.playback.seek(max(s.frame, 0))
        if media.error:
            self.status.showMessage(f"No sound: {media.error}", 10000)

    def states_changed(self) -> None:
        """The timeline: keyframe ticks and the strip of frames with masks, by review state."""
        self.timeline.set_keyframe_status(self.session.keyframe_status())
        self.timeline.set_frame_status(self.session.frame_states)

    def counts_changed(self, video_id: int) -> None:
        video = self.session.video
        if video is not None and video.id == video_id:
            self.panel_timer.start()
        else:
            self.project_panel.refresh_video(video_id)

    def _refresh_panel(self) -> None:
        if self.session.video is not None:
            self.project_panel.refresh_video(self.session.video.id)

    # ------------------------------------------------------------------ frames
    def frame_requested(self, frame: int, from_playback: bool) -> None:
        video = self.session.video
        if video is None:
            return
        self.timeline.set_frame(frame)
        if not from_playback:
            self.playback.seek(frame)
        t = frame / video.fps if video.fps else 0.0
        self.status.set_position(frame, video.frame_count, t, self.session.is_keyframe(frame))

    def frame_shown(self, index: int) -> None:
        if self.session.image is not None:
            self.canvas.set_frame(index, self.session.image)
        self.annotations_changed()

    def annotations_changed(self) -> None:
        s = self.session
        self.draw_layers()
        self.object_panel.set_objects(s.objects, s.object_annotations(), s.selected_object)
        self.status.set_review(s.review_text())

    def selection_changed(self) -> None:
        self.draw_layers()
        self.status.set_review(self.session.review_text())

    def draw_layers(self) -> None:
        if self.session.video is not None:
            self.canvas.set_layers(self.session.layers())

    def end_edit(self) -> None:
        """Drop a half-drawn stroke / polygon / SAM points (frame, video or object changed)."""
        if self.canvas.tool is not None:
            self.canvas.tool.reset()

    def prompt_changed(self, clip: ClipPrompt | None) -> None:
        video = self.session.video
        if video is None:
            self.prompt_panel.set_clip(None, 1.0, 0)
        else:
            self.prompt_panel.set_clip(clip, video.fps, self.session.frame)

    def stored_state(self, writing: bool) -> None:
        """The writer's queue: "saving…" while busy, then "stored ✓" or "NOT stored ✗"."""
        failed = self.session.write_failed
        self.status.set_stored("saving" if writing else ("failed" if failed else "stored"))
