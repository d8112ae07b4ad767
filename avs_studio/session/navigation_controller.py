"""NavigationController: open a video, seek, step by frame / second / keyframe, find the next keyframe to
review; and the spans playback plays (this second, this clip) and its speed steps.

Frames decode on the frame source's thread (newest request wins): ``seek`` asks, ``frame_ready`` is the
answer. The frame times, audio and waveform of a video load on the media runner, so a long video shows
its first frame at once and its waveform a moment later (``events.media_loaded``).
"""

from __future__ import annotations

import bisect
from pathlib import Path
from typing import Any

import numpy as np

from avs_studio.jobs.relink import relink
from avs_studio.jobs.review import next_needing_review
from avs_studio.session.controller import Controller
from avs_studio.session.media import MediaData, load_media
from avs_studio.session.runners import FrameSource, Runner
from avs_studio.session.state import AnnotationSession
from avs_studio.store import VideoRow

SPEEDS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
LAST_VIDEO_KEY = "gui.last_video"  # project settings: the video shown last, and each video's frame
POSITION_KEY = "gui.frame.{}"


def speed_step(now: float, step: int) -> float:
    """``step`` places along SPEEDS from the speed nearest ``now`` (clamped to 0.25x … 2x)."""
    i = min(range(len(SPEEDS)), key=lambda k: abs(SPEEDS[k] - now))
    return SPEEDS[min(max(i + step, 0), len(SPEEDS) - 1)]


class NavigationController(Controller):
    def __init__(
        self, session: AnnotationSession, writer: Runner, frames: FrameSource, media: Runner
    ) -> None:
        super().__init__(session, writer)
        self.frames = frames
        self.media = media

    # ------------------------------------------------------------------ videos
    def open_video(self, video_id: int) -> None:
        s = self.session
        if s.project is None or (s.video is not None and s.video.id == video_id):
            return
        store = s.store
        video = store.video(video_id)
        s.set_video(video)
        if not Path(video.path).is_file():  # moved, renamed, on a drive not mounted: say so, offer to locate
            self.events.video_missing.emit(video)
            return
        start = store.get_setting(POSITION_KEY.format(video_id), 0) or 0
        self.seek(int(start))
        self.media.submit(
            lambda: load_media(self.frames.reader, video.path, video.duration, video.has_audio),
            on_done=self._media_done,
            on_error=lambda message: self.events.error.emit("Cannot read the video", message),
        )
        if not s.read_only:  # a read-only project does not remember where it was
            self.write(lambda: store.set_setting(LAST_VIDEO_KEY, video_id), what="position")

    def relink(self, video_id: int, path: str) -> None:
        """Locate video…: point the project at the moved file (``jobs.relink``: its sha256 must match),
        then show it. A wrong file is refused with a message saying why; nothing changes."""
        s = self.session
        if s.project is None:
            return
        project = s.project

        def relinked(video: VideoRow) -> None:
            self.say(f"{video.name} is now read from {video.path}", 6000)
            if s.video is not None and s.video.id == video_id:
                s.video = None  # open it again, from its new place
            self.open_video(video_id)
            self.events.counts_changed.emit(video_id)

        self.write(lambda: relink(project, video_id, path), relinked, "new location of the video")

    def open_last_video(self) -> None:
        """The video shown last in this project (else the first one), if it has videos."""
        if self.session.project is None:
            return
        store = self.session.store
        ids = [v.id for v in store.videos()]
        last = store.get_setting(LAST_VIDEO_KEY)
        if ids:
            self.open_video(last if last in ids else ids[0])

    def remember_position(self) -> None:
        """Queue the shown video's frame as where it opens next time."""
        s = self.session
        if s.project is not None and s.video is not None and not s.read_only:
            store, key, frame = s.store, POSITION_KEY.format(s.video.id), s.frame
            self.writer.submit(lambda: store.set_setting(key, frame))

    def _media_done(self, media: Any) -> None:
        video = self.session.video
        if isinstance(media, MediaData) and video is not None and media.path == video.path:
            self.events.media_loaded.emit(media)  # else another video was opened meanwhile

    # ------------------------------------------------------------------ frames
    def seek(self, frame: int, *, from_playback: bool = False) -> None:
        """Show ``frame`` (clamped); it decodes on the frame source's thread, the newest request wins."""
        s = self.session
        if s.video is None:
            return
        frame = int(min(max(frame, 0), s.video.frame_count - 1))
        if frame == s.frame:
            return
        s.frame = frame
        self.frames.request(s.video.path, frame)
        self.events.frame_requested.emit(frame, from_playback)

    def frame_ready(self, path: str, index: int, image: np.ndarray) -> None:
        """The frame source decoded ``index`` of ``path`` (dropped when the user asked for another)."""
        s = self.session
        if s.video is None or path != s.video.path or index != s.frame:
            return
        s.show_frame(index, image)

    def step(self, delta: int) -> None:
        self.seek(self.session.frame + delta)

    def step_seconds(self, seconds: float) -> None:
        video = self.session.video
        if video is not None:
            self.seek(self.session.frame + int(round(seconds * video.fps)))

    def step_keyframe(self, direction: int) -> None:
        kf, frame = self.session.keyframes, self.session.frame
        if direction > 0:
            i = bisect.bisect_right(kf, frame)
            if i < len(kf):
                self.seek(kf[i])
        else:
            i = bisect.bisect_left(kf, frame) - 1
            if i >= 0:
                self.seek(kf[i])

    def next_review(self) -> None:
        """N: the next keyframe that is unprocessed, proposed or edited (wrapping around)."""
        s = self.session
        target = next_needing_review(s.keyframes, s.states, s.frame)
        if target is None:
            self.say("Every keyframe of this video is reviewed")
        else:
            self.seek(target)

    # ------------------------------------------------------------------ what playback plays
    def second_span(self) -> tuple[int, int] | None:
        """First and last frame of the second holding the frame (Shift+Space plays it)."""
        video = self.session.video
        if video is None:
            return None
        fps = video.fps or 25.0
        first = max(int(self.session.frame // fps * fps), 0)
        last = min(int(round(first + fps)) - 1, video.frame_count - 1)
        return first, max(last, first)

    def clip_span(self) -> tuple[int, int] | None:
        """First and last frame of the clip holding the frame (L loops it; Shift+A accepts it)."""
        if self.session.video is None:
            return None
        first, end = self.session.clip()
        return first, max(end - 1, first)
