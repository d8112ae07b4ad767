"""Transport: the play / pause / second / speed / loop commands, between the session's navigation and the
PlaybackController (audio and video from one clock). Playback moving the frame seeks the session."""

from __future__ import annotations

from PySide6.QtCore import QObject

from avs_studio.gui.playback import PlaybackController
from avs_studio.session import AnnotationSession, NavigationController, speed_step


class Transport(QObject):
    def __init__(
        self, session: AnnotationSession, navigation: NavigationController, playback: PlaybackController
    ) -> None:
        super().__init__(playback)
        self.session = session
        self.navigation = navigation
        self.playback = playback
        playback.frameChanged.connect(lambda frame: navigation.seek(frame, from_playback=True))
        playback.notice.connect(lambda text: session.events.message.emit(text, 8000))

    def toggle_play(self) -> None:
        if self.session.video is not None:
            self.playback.toggle()

    def play_second(self) -> None:
        """Play the second holding this frame once with sound, then come back to this frame."""
        span = self.navigation.second_span()
        if span is not None:
            self.playback.play_span(*span)

    def change_speed(self, step: int) -> None:
        """One step along SPEEDS (0.25x … 2x); sound follows the speed."""
        speed = speed_step(self.playback.speed(), step)
        self.playback.set_speed(speed)
        self.session.events.message.emit(f"playback speed {speed:g}x", 2000)

    def set_loop_clip(self, on: bool) -> None:
        """Loop the clip holding this frame (the clip Shift+A accepts), or stop looping."""
        span = self.navigation.clip_span() if on else None
        if span is None:
            self.playback.clear_loop()
            return
        self.playback.set_loop(*span)
        self.session.events.message.emit(f"looping frames {span[0] + 1}–{span[1] + 1}", 2000)
