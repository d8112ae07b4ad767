"""Re-segment one frame with (edited) phrases: the text segmenter runs again and the frame's proposals are
replaced through ``Store.replace_proposals``, under the same rule as a proposal run (a frame a person
reviewed or edited is left alone; one object per phrase; nothing found = "nothing sounds here").

The GUI runs the two halves on two threads (``segment_frame`` on the model worker, ``store_frame`` on the
writer); ``resegment_frame`` does both for the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from avs_studio.jobs.clips import frame_key
from avs_studio.jobs.project import Project
from avs_studio.openavs import FrameProposal, ObjectProposal
from avs_studio.store import ProposalCounts

AUTHOR = "openavs"


def phrase_list(value: Any) -> list[str]:
    """ "a, b" or ["a", "b"] -> ["a", "b"] (blanks dropped): phrases as typed or as stored."""
    if value is None:
        return []
    if isinstance(value, str):
        return [p.strip() for p in value.split(",") if p.strip()]
    return [str(p) for p in value]


def segment_frame(
    pipeline: Any, image: np.ndarray, phrases: Sequence[str], key: str | None = None
) -> list[ObjectProposal]:
    """The pipeline's text segmenter on one frame (no phrases: nothing sounds, no model call)."""
    if not phrases:
        return []
    return list(pipeline.segment_frame(image, list(phrases), key=key))


def store_frame(
    project: Project,
    video_id: int,
    frame: int,
    phrases: Sequence[str],
    objects: Sequence[ObjectProposal],
    shape: tuple[int, int],
) -> ProposalCounts:
    """Replace the frame's proposals by ``objects`` (masks of one phrase merged); one transaction."""
    from avs_studio.jobs.propose import write_clip

    proposal = FrameProposal(frame, list(phrases), list(objects))
    return write_clip(project, video_id, [proposal], shape, run_id=None, result={}, author=AUTHOR)


def resegment_frame(
    project: Project,
    video_id: int,
    frame: int,
    phrases: Sequence[str],
    pipeline: Any,
    *,
    image: np.ndarray | None = None,
) -> ProposalCounts:
    """Segment ``frame`` of the video with ``phrases`` and store the result (``image``: its pixels, when
    the caller has them decoded already)."""
    video = project.store.video(video_id)
    if image is None:
        from avs_studio.media import VideoReader

        with VideoReader(video.path, prefetch=0) as reader:
            image = reader.frame(frame)
    objects = segment_frame(pipeline, image, phrases, key=frame_key(video_id, frame))
    return store_frame(project, video_id, frame, phrases, objects, image.shape[:2])
