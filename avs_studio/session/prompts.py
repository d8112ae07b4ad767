"""The OpenAVS exchange of one clip as the prompt panel shows it: each keyframe's describer texts, the LLM
answer and the phrases the segmenter used (from what ``jobs.propose`` stored as the clip's result)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from avs_studio.jobs.resegment import phrase_list
from avs_studio.store import ClipResultRow

__all__ = ["ClipPrompt", "FramePrompt", "clip_for_frame", "parse_clip_result", "phrase_list"]


@dataclass
class FramePrompt:
    frame: int
    descriptions: dict[str, str] = field(default_factory=dict)  # describer name -> text
    answer: list[str] = field(default_factory=list)  # the LLM's phrases for this frame
    phrases: list[str] = field(default_factory=list)  # phrases the segmenter used (after edits)


@dataclass
class ClipPrompt:
    frames: list[FramePrompt]
    translator: str = ""
    prompt: str = ""
    raw: str = ""
    attempts: int = 1
    models: dict[str, str] = field(default_factory=dict)
    run_id: int | None = None


def _frame_of(info: dict[str, Any]) -> int:
    value = info["frame_index"] if "frame_index" in info else info.get("frame", -1)
    return int(value)


def parse_clip_result(row: ClipResultRow) -> ClipPrompt:
    """What jobs.propose stored for one clip -> panel data."""
    r = row.result
    translation = r.get("translation") or {}
    descriptions = r.get("descriptions") or []
    answer = translation.get("phrases") or []
    used = r.get("phrases") or []
    per_frame = {_frame_of(f): f for f in r.get("frames") or [] if isinstance(f, dict)}
    frames = []
    for i, frame in enumerate(row.frames):
        info = per_frame.get(int(frame), {})
        desc = descriptions[i] if i < len(descriptions) and isinstance(descriptions[i], dict) else {}
        ans = phrase_list(answer[i]) if i < len(answer) else []
        if "phrases" in info:
            phrases = phrase_list(info["phrases"])
        else:
            phrases = phrase_list(used[i]) if i < len(used) else ans
        frames.append(FramePrompt(int(frame), {str(k): str(v) for k, v in desc.items()}, ans, phrases))
    return ClipPrompt(
        frames,
        translator=str(translation.get("translator", "")),
        prompt=str(translation.get("prompt", "")),
        raw=str(translation.get("raw", "")),
        attempts=int(translation.get("attempts", 1) or 1),
        models={str(k): str(v) for k, v in (r.get("models") or {}).items()},
        run_id=row.run_id,
    )


def clip_for_frame(rows: Sequence[ClipResultRow], frame: int, clip: tuple[int, int]) -> ClipResultRow | None:
    """The newest clip result holding ``frame``, else the newest one inside the clip range."""
    first, end = clip
    best = None
    for row in rows:  # oldest first
        if frame in row.frames or (row.frames and first <= row.frames[0] < end):
            best = row
    return best
