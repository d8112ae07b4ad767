"""Relink: tell the project where a moved video file is now (CLI `avs-studio relink`, GUI "Locate video…")."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from avs_studio.media import MediaError, probe
from avs_studio.store import VideoRow


class RelinkError(Exception):
    """The file offered is not the video (other content, or frames the masks would not fit)."""


def relink(project: Any, video_id: int, path: str | os.PathLike[str], *, force: bool = False) -> VideoRow:
    """Point video ``video_id`` at ``path`` after checking it is the same video.

    The file must have the sha256 recorded when the video was added. ``force`` accepts other content
    (the same video re-encoded) only when its frame count and size match, so every mask still fits;
    the new hash, frame rate and duration are recorded then. Raises RelinkError (nothing changed),
    MediaError for a file that is not a readable video, NotFoundError for an unknown id.
    """
    store = project.store
    video = store.video(video_id)
    path = Path(os.path.abspath(Path(path).expanduser()))
    try:
        info = probe(path)
    except MediaError as exc:
        raise RelinkError(f"cannot relink video {video_id} ({video.name}) to {exc}") from exc
    same = video.sha256 is None or info.sha256 == video.sha256
    if not same and not force:
        raise RelinkError(
            f"{path} is not the file video {video_id} ({video.name}) was made from: its content differs "
            f"(sha256 {info.sha256[:12]}… instead of {video.sha256[:12]}…). Pick the original file, or pass "
            f"--force if it is the same video re-encoded."
        )
    shape, expected = (
        (info.frame_count, info.width, info.height),
        (video.frame_count, video.width, video.height),
    )
    if shape != expected:
        raise RelinkError(
            f"{path} has {shape[0]} frames of {shape[1]}x{shape[2]}, but video {video_id} ({video.name}) has "
            f"{expected[0]} frames of {expected[1]}x{expected[2]}: its masks would not fit. Nothing was changed."
        )
    fields: dict[str, Any] = {"path": str(path)}
    if not same:
        fields.update(sha256=info.sha256, fps=info.fps, duration=info.duration, has_audio=info.has_audio)
        fields["meta"] = {
            **video.meta,
            "variable_frame_rate": info.variable_frame_rate,
            "relinked_from": video.sha256,
        }
    row: VideoRow = store.update_video(video_id, **fields)
    return row
