"""Video, frames and playback for the main window: open a video, seek, step, play with sound.

Frames decode on the frame thread (newest request wins); the frame times, audio and waveform pyramid of
a video load on the media thread, so opening a long video shows its first frame at once and the
waveform a moment later.
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Any

import numpy as np

from avs_studio.gui.review import clip_range, keyframe_states
from avs_studio.jobs import keyframes
from avs_studio.media import EnvelopePyramid, MediaError, load_audio

if TYPE_CHECKING:
    from avs_studio.gui.main_window import MainWindow

    _Base = MainWindow
else:
    _Base = object

# Longer videos get 16 kHz mono audio for playback and the waveform, so memory stays bounded
# (1 h = 230 MB); shorter ones keep their own rate and channels.
LONG_AUDIO_S = 15 * 60
LONG_AUDIO_RATE = 16000
SPEEDS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)


def load_media(reader_of: Any, path: str, duration: float, has_audio: bool) -> dict[str, Any]:
    """Frame times, audio and waveform pyramid of one video (runs on the media thread)."""
    times = reader_of(path).frame_times
    out: dict[str, Any] = {"path": path, "times": times, "audio": None, "pyramid": None, "error": ""}
    if has_audio:
        long = duration > LONG_AUDIO_S
        try:
            audio = load_audio(path, rate=LONG_AUDIO_RATE if long else None, mono=long)
        except MediaError as exc:
            out["error"] = str(exc)
        else:
            out["audio"] = audio
            out["pyramid"] = EnvelopePyramid(audio.samples, audio.rate)
    return out


class NavigationMixin(_Base):
    # ------------------------------------------------------------------ video
    def open_video(self, video_id: int) -> None:
        if self.project is None or (self.video is not None and self.video.id == video_id):
            return
        self.end_edit()
        self.playback.stop()
        self.video = video = self.project.store.video(video_id)
        self.keyframes = keyframes(video)
        self._keyframe_set = set(self.keyframes)
        self.objects = self.project.store.objects(video_id)
        self.selected_object = self.objects[0].id if self.objects else None
        self.frame_annotations = {}
        self.project_panel.select_video(video_id)
        self.canvas.clear()
        # the timeline shows ticks and playhead at once (nominal frame times), the waveform when loaded
        fps = video.fps or 25.0
        self.timeline.set_media(video.duration, np.arange(video.frame_count) / fps)
        self._refresh_states()
        start = self.project.store.get_setting(f"gui.frame.{video_id}", 0) or 0
        self.frame = -1
        self.seek(int(start))
        self.media.submit(
            lambda: load_media(self.frames.reader, video.path, video.duration, video.has_audio),
            on_done=self._media_loaded,
            on_error=lambda msg: self.show_error("Cannot read the video", msg),
        )
        store = self.project.store
        self.write(lambda: store.set_setting("gui.last_video", video_id), what="position")

    def _media_loaded(self, media: dict[str, Any]) -> None:
        video = self.video
        if video is None or media["path"] != video.path:
            return  # another video was opened meanwhile
        self.timeline.set_media(video.duration, media["times"], media["pyramid"], media["audio"])
        self.timeline.set_keyframe_status(dict(zip(self.keyframes, self.states)))
        self.timeline.set_frame(max(self.frame, 0))
        self.playback.set_media(media["times"], media["audio"], video.duration)
        self.playback.seek(max(self.frame, 0))
        if media["error"]:
            self.status.showMessage(f"No sound: {media['error']}", 10000)
        self.media_loaded.emit(video.id)

    def _refresh_states(self) -> None:
        if self.project is None or self.video is None:
            self.states = []
            return
        rows = self.project.store.annotations(video_id=self.video.id)
        self.states = keyframe_states(self.keyframes, rows)
        self.timeline.set_keyframe_status(dict(zip(self.keyframes, self.states)))

    # ------------------------------------------------------------------ frames
    def seek(self, frame: int, *, from_playback: bool = False) -> None:
        """Show ``frame`` (clamped); decoding happens on the frame thread, the newest request wins."""
        if self.video is None:
            return
        frame = int(min(max(frame, 0), self.video.frame_count - 1))
        if frame == self.frame:
            return
        self.frame = frame
        self.frames.request(self.video.path, frame)
        self.timeline.set_frame(frame)
        if not from_playback:
            self.playback.seek(frame)
        t = frame / self.video.fps if self.video.fps else 0.0
        self.status.set_position(frame, self.video.frame_count, t, frame in self._keyframe_set)

    def _on_frame_ready(self, path: str, index: int, image: np.ndarray) -> None:
        if self.video is None or path != self.video.path or index != self.frame:
            return  # stale
        self.end_edit()
        self.canvas.set_frame(index, image)
        self.load_frame_annotations()
        self.worker.generation += 1
        self._prefetch_embeddings()
        self._update_prompt_panel()
        self.frame_shown.emit(index)

    def step(self, delta: int) -> None:
        self.seek(self.frame + delta)

    def step_seconds(self, seconds: float) -> None:
        if self.video is not None:
            self.seek(self.frame + int(round(seconds * self.video.fps)))

    def step_keyframe(self, direction: int) -> None:
        if not self.keyframes:
            return
        if direction > 0:
            i = bisect.bisect_right(self.keyframes, self.frame)
            if i < len(self.keyframes):
                self.seek(self.keyframes[i])
        else:
            i = bisect.bisect_left(self.keyframes, self.frame) - 1
            if i >= 0:
                self.seek(self.keyframes[i])

    # ------------------------------------------------------------------ playback (with sound)
    def toggle_play(self) -> None:
        if self.video is not None:
            self.playback.toggle()

    def play_second(self) -> None:
        """Play the second holding this frame once with sound, then come back to this frame."""
        if self.video is None:
            return
        fps = self.video.fps or 25.0
        first = int(self.frame // fps * fps)
        last = min(int(round(first + fps)) - 1, self.video.frame_count - 1)
        self.playback.play_span(max(first, 0), max(last, first))

    def change_speed(self, step: int) -> None:
        """One step along SPEEDS (0.25x … 2x); sound follows the speed."""
        now = self.playback.speed()
        i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - now))
        speed = SPEEDS[min(max(i + step, 0), len(SPEEDS) - 1)]
        self.playback.set_speed(speed)
        self.status.showMessage(f"playback speed {speed:g}x", 2000)

    def set_loop_clip(self, on: bool) -> None:
        """Loop the 5-second clip holding this frame (the clip Shift+A accepts), or stop looping."""
        if not on or self.video is None:
            self.playback.clear_loop()
            return
        first, end = clip_range(self.frame, self.video.fps, self.video.frame_count)
        self.playback.set_loop(first, max(end - 1, first))
        self.status.showMessage(f"looping frames {first + 1}–{end}", 2000)

    def _on_play_frame(self, frame: int) -> None:
        self.seek(frame, from_playback=True)

    def _space_tapped(self) -> None:
        keys = [k.toString() for k in self.actions.keys("play")]
        if "Space" in keys:
            self.actions["play"].trigger()
