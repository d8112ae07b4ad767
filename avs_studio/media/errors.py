"""Typed errors of the media layer; every message names the file."""

from __future__ import annotations

from pathlib import Path


class MediaError(Exception):
    """A file cannot be read as media. ``path`` names it, ``reason`` says why."""

    def __init__(self, path: str | Path, reason: str, hint: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        message = f"{self.path}: {reason}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class NoAudioError(MediaError):
    """The file is a video but has no audio stream."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(
            path,
            "has no audio stream",
            "audio features (waveform, describers) need a video with sound; re-export it with audio",
        )
