"""Review states of frames and clips (plain Python: what the ticks, badges and N key agree on)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from avs_studio.store import AnnotationRow

# UX.md colours: grey = not processed, amber = proposed, green = accepted, red = rejected, blue = edited
STATE_COLOURS = {
    "unprocessed": "#8a8a8a",
    "proposed": "#f0a020",
    "accepted": "#30b050",
    "rejected": "#d03838",
    "edited": "#3c7ce0",
}
NEEDS_REVIEW = ("unprocessed", "proposed", "edited")
CLIP_SECONDS = 5


def frame_state(rows: Iterable[AnnotationRow]) -> str:
    """One state for a frame: the least finished status of its annotations wins."""
    statuses = {r.status for r in rows}
    if not statuses:
        return "unprocessed"
    if "edited" in statuses:
        return "edited"
    if "proposed" in statuses:
        return "proposed"
    return "rejected" if statuses == {"rejected"} else "accepted"


def by_frame(rows: Iterable[AnnotationRow]) -> dict[int, list[AnnotationRow]]:
    out: dict[int, list[AnnotationRow]] = defaultdict(list)
    for r in rows:
        out[r.frame].append(r)
    return out


def keyframe_states(keyframes: list[int], rows: Iterable[AnnotationRow]) -> list[str]:
    frames = by_frame(rows)
    return [frame_state(frames.get(k, [])) for k in keyframes]


def next_needing_review(keyframes: list[int], states: list[str], current: int) -> int | None:
    """The first keyframe after ``current`` that needs a look, wrapping around; None when all are done."""
    order = [i for i, k in enumerate(keyframes) if k > current] + [
        i for i, k in enumerate(keyframes) if k <= current
    ]
    for i in order:
        if states[i] in NEEDS_REVIEW:
            return keyframes[i]
    return None


def clip_range(frame: int, fps: float, frame_count: int, seconds: int = CLIP_SECONDS) -> tuple[int, int]:
    """[first, end) frames of the 5-second clip (0-5 s, 5-10 s, ...) holding ``frame``."""
    fps = fps or 1.0
    clip = int((frame / fps) // seconds)
    first = int(round(clip * seconds * fps))
    end = min(int(round((clip + 1) * seconds * fps)), frame_count)
    if frame >= end:  # rounding at the boundary
        first, end = end, min(int(round((clip + 2) * seconds * fps)), frame_count)
    return first, end


def progress(states: list[str]) -> float:
    """Fraction of keyframes reviewed (accepted or rejected)."""
    if not states:
        return 0.0
    return sum(s in ("accepted", "rejected") for s in states) / len(states)
