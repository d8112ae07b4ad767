"""What the views draw, Qt-free: review-state colours, the overlay's mask layers, review texts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np

from avs_studio.store import AnnotationRow

# UX.md: grey = not processed, amber = proposed, green = accepted, red = rejected, blue = edited
STATUS_COLOURS: dict[str, str] = {
    "unprocessed": "#8a8a8a",
    "proposed": "#f0a020",
    "accepted": "#30b050",
    "rejected": "#d03838",
    "edited": "#3c7ce0",
}


def frame_number(index: int) -> int:
    """A frame index as every view shows it to people: 1-based (the store and the CLI keep 0-based)."""
    return int(index) + 1


@dataclass
class Layer:
    """One object's mask as the overlay draws it."""

    mask: np.ndarray  # bool (H, W)
    colour: str  # "#rrggbb"
    selected: bool = False
    status: str = ""  # the stored mask's review status ("rejected" is drawn hatched)


def when(t: datetime) -> str:
    """Local time, the date only when it is not today."""
    local = t.astimezone()
    return f"{local:%H:%M}" if local.date() == datetime.now().date() else f"{local:%Y-%m-%d %H:%M}"


def reviewed_text(row: AnnotationRow | None) -> str:
    """ "accepted by ana 14:02" (or the bare status): the status bar's line for the selected mask."""
    if row is None:
        return ""
    if row.reviewed_by and row.reviewed_at:
        return f"{row.status} by {row.reviewed_by} {when(row.reviewed_at)}"
    return row.status
