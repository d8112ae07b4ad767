"""A trained student's predictions (engine `student:NAME`): per-pixel probabilities, proposals, PNGs.

`StudentPredictor` loads a project's student once and returns its foreground probabilities for any
frames of a video (at the model's input size or the video's frame size): the one way to ask a student
(proposals, `predict`, and quality / review-queue measures use it). `propose_with_student` predicts each
video's keyframes in batches and writes every clip of five keyframes in one transaction through the same
writer as OpenAVS proposals (source "student", status "proposed", one object per video labelled
"sounding object"), so keyframes a person reviewed or edited are left alone.
"""

from __future__ import annotations

import functools
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from avs_studio import masks
from avs_studio.atomic import atomic_path
from avs_studio.jobs.clips import clip_length
from avs_studio.jobs.project import Project, keyframes
from avs_studio.jobs.propose import (
    OnClip,
    ProposeError,
    ProposeReport,
    plan_clips,
    propose_clips,
    run_plan,
    select_videos,
)
from avs_studio.media import MediaError
from avs_studio.openavs import FrameProposal, ObjectProposal
from avs_studio.progress import Progress
from avs_studio.store import VideoRow
from avs_studio.training.checkpoint import CheckpointError, load_student
from avs_studio.training.dataset import DataOptions, load_inputs
from avs_studio.training.loop import predict_probs, resolve_device
from avs_studio.training.paths import model_dir

LABEL = "sounding object"
SOURCE = "student"


def frame_proposal(
    frame_index: int, probs: np.ndarray, shape: tuple[int, int], threshold: float = 0.5
) -> FrameProposal:
    """One keyframe's proposal from the student's (S, S) probabilities, resized to the frame ``shape``."""
    full = to_frame_size(probs, shape)
    mask = full > threshold
    box = masks.bbox(mask)
    if box is None:
        return FrameProposal(frame_index, [], [])
    score = float(full[mask].mean())
    obj = ObjectProposal(LABEL, mask, (float(box[0]), float(box[1]), float(box[2]), float(box[3])), score, score)
    return FrameProposal(frame_index, [LABEL], [obj])


class StudentPredictor:
    """The student ``name`` of ``project``, loaded once (eval mode). ProposeError names a missing or
    unreadable model file."""

    def __init__(self, project: Project, name: str, device: str = "auto", batch_size: int = 32):
        model, path = load_project_student(project, name, device)
        self._use(model, path, f"{SOURCE}:{name}", project.dir / "cache" / "training", batch_size)

    @classmethod
    def from_file(
        cls, path: Path, engine: str, device: str = "auto", batch_size: int = 32, cache: Path | None = None
    ) -> StudentPredictor:
        """The student in the model file ``path`` (a Ray worker's way: no project store)."""
        model, _state = load_student(path, resolve_device(device))
        predictor = cls.__new__(cls)
        predictor._use(model, path, engine, cache, batch_size)
        return predictor

    def _use(self, model: Any, path: Path, engine: str, cache: Path | None, batch_size: int) -> None:
        self.model, self.path, self.engine, self.cache, self.batch_size = (
            model,
            path,
            engine,
            cache,
            batch_size,
        )
        cfg = model.config
        self.options = DataOptions(
            image_size=cfg.image_size, n_mels=cfg.n_mels, audio_frames=cfg.audio_frames
        )

    def inputs(self, video: VideoRow, frames: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """(resized frames (K, S, S, 3) uint8, log-mels (K, M, T)) of these frames (MediaError if bad)."""
        return load_inputs(video, list(frames), self.options, self.cache)

    def predict(self, images: np.ndarray, mels: np.ndarray) -> np.ndarray:
        """Foreground probabilities (K, S, S) float32 of model-size frames and their log-mels."""
        x = torch.from_numpy(images).permute(0, 3, 1, 2).float().div_(255)
        return predict_probs(self.model, x, torch.from_numpy(mels), self.batch_size).numpy()

    def probabilities(
        self, video: VideoRow, frames: Sequence[int] | None = None, full_size: bool = True
    ) -> np.ndarray:
        """Foreground probabilities of ``frames`` (default: the video's keyframes) with their own audio:
        (K, H, W) float32 at the video's frame size, or (K, S, S) at the model's with ``full_size=False``."""
        frames = keyframes(video) if frames is None else list(frames)
        if not frames:
            return np.zeros((0, video.height, video.width), np.float32)
        probs = self.predict(*self.inputs(video, frames))
        return (
            np.stack([to_frame_size(p, (video.height, video.width)) for p in probs]) if full_size else probs
        )


def to_frame_size(probs: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(S, S) probabilities resized (bilinear) to a frame of ``shape`` (H, W), float32."""
    return cv2.resize(probs.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)


def student_probabilities(
    project: Project, name: str, video_id: int, frames: Sequence[int] | None = None, device: str = "auto"
) -> dict[int, np.ndarray]:
    """frame -> (H, W) float32 foreground probability of the student ``name`` (one call; to ask about many
    videos, keep a StudentPredictor)."""
    video = project.store.video(video_id)
    frames = keyframes(video) if frames is None else list(frames)
    probs = StudentPredictor(project, name, device).probabilities(video, frames)
    return dict(zip(frames, probs))


def load_project_student(project: Project, name: str, device: str = "auto") -> tuple[Any, Path]:
    """(model in eval mode, its file) of the student ``name``; ProposeError names a missing/bad file."""
    try:
        path = model_dir(project.dir, name) / "model.pt"
    except ValueError as exc:
        raise ProposeError(str(exc)) from exc
    if not path.is_file():
        raise ProposeError(
            f"student model {path} not found; train it first with `avs-studio train {project.dir} --name {name}`"
        )
    try:
        stat = path.stat()
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)  # an atomic rewrite is another inode
        model = _loaded_student(str(path.resolve()), key, str(resolve_device(device)))
    except CheckpointError as exc:
        raise ProposeError(str(exc)) from exc
    return model, path


@functools.lru_cache(maxsize=2)
def _loaded_student(path: str, version: tuple[int, int, int], device: str) -> Any:
    """The model of a student file, loaded once per process while the file stays the same (a retrain
    rewrites it: another ``version``, loaded again). The model is only used for inference."""
    return load_student(path, device)[0]


def propose_with_student(
    project: Project,
    name: str,
    video_ids: Sequence[int] | None = None,
    split: str | None = None,
    device: str = "auto",
    progress: Progress | None = None,
    cancel: Any = None,
    *,
    batch_size: int = 32,
    threshold: float = 0.5,
    frames: Sequence[int] | None = None,
    on_clip: OnClip | None = None,
) -> ProposeReport:
    """Propose with the student ``name`` (PROJECT/models/NAME/model.pt) for ``video_ids`` (None: all videos,
    or those of ``split``; ``frames``: only the clips holding these keyframes; ``on_clip`` as in
    jobs.propose). Raises ProposeError when the model is missing or unreadable."""
    student = StudentPredictor(project, name, device, batch_size)
    engine, path, cfg = student.engine, student.path, student.model.config
    report = ProposeReport(engine=engine)
    plan = plan_clips(select_videos(project, video_ids, split), clip_length(), frames)
    config = {"model": name, "path": str(path), "threshold": threshold, "model_config": cfg.to_dict()}

    def propose_video(video: VideoRow, clips: list[list[int]], done: int, total: int) -> int:
        label = f"video {video.id} ({video.name})"
        frames = [f for clip in clips for f in clip]
        t0 = time.perf_counter()
        try:
            images, mels = student.inputs(video, frames)
        except MediaError as exc:
            report.errors.append(f"{label}: {exc}")
            return len(clips)
        if not video.has_audio:
            report.warnings.append(f"{label} has no audio: the student saw silence")
        probs = student.predict(images, mels)
        by_frame = dict(zip(frames, probs))
        report.timings["inference"] = report.timings.get("inference", 0.0) + time.perf_counter() - t0
        shape = (video.height, video.width)

        def make_clip(indices: list[int]) -> tuple[list[FrameProposal], dict[str, Any]]:
            proposals = [frame_proposal(i, by_frame[i], shape, threshold) for i in indices]
            scores = [p.objects[0].box_score if p.objects else None for p in proposals]
            return proposals, {"engine": engine, "frames": indices, "scores": scores}

        handled = propose_clips(
            project, report, video, clips, make_clip, shape, done=done, total=total, progress=progress,
            cancel=cancel, author=engine, source=SOURCE, on_clip=on_clip,
        )  # fmt: skip
        report.videos += 1
        return handled

    return run_plan(
        project, report, plan, propose_video, config=config, models={"student": str(path)},
        started=time.perf_counter(), progress=progress, cancel=cancel, what=f" with {engine}",
    )  # fmt: skip


@dataclass
class PredictReport:
    out_dir: Path
    videos: int = 0
    frames: int = 0
    audio_from: dict[int, int] = field(default_factory=dict)  # video id -> video whose audio it was given
    errors: list[str] = field(default_factory=list)


def predict_folder(
    project: Project,
    name: str,
    out_dir: str | os.PathLike[str],
    *,
    split: str | None = None,
    video_ids: Sequence[int] | None = None,
    device: str = "auto",
    shuffle_audio_seed: int | None = None,
    batch_size: int = 32,
    progress: Progress | None = None,
    cancel: Any = None,
) -> PredictReport:
    """Write the student's foreground probabilities (8-bit PNG, frame size) of every keyframe, in the
    AVSBench S4 mask layout under ``out_dir``: ``{category}/{name}/{name}_{k}.png`` (k = 1.. per keyframe),
    ready for `avs-studio eval OUT_DIR GT/gt_masks/SPLIT`. The store is not changed.

    ``shuffle_audio_seed``: give each video the audio of another selected video (a random permutation
    with that seed), the ablation that shows how much the model relies on the sound."""
    student = StudentPredictor(project, name, device, batch_size)
    out = Path(out_dir)
    report = PredictReport(out)
    videos = select_videos(project, video_ids, split)
    inputs = []
    for v in videos:
        try:
            frames = keyframes(v)
            inputs.append((v, frames, *student.inputs(v, frames)))
        except MediaError as exc:
            report.errors.append(f"video {v.id} ({v.name}): {exc}")
    order = list(range(len(inputs)))
    if shuffle_audio_seed is not None:
        order = [int(i) for i in np.random.default_rng(shuffle_audio_seed).permutation(len(inputs))]
    for n, (video, frames, images, _own) in enumerate(inputs):
        if cancel is not None and cancel.is_set():
            break
        donor = inputs[order[n]]
        report.audio_from[video.id] = donor[0].id
        mels = donor[3][np.arange(len(frames)) % len(donor[3])]
        probs = student.predict(images, mels)
        clip_name = str((video.meta or {}).get("original_name") or video.name)
        folder = out.joinpath(*([video.category] if video.category else []), clip_name)
        folder.mkdir(parents=True, exist_ok=True)
        for k, p in enumerate(probs, start=1):
            full = to_frame_size(p, (video.height, video.width))
            png = np.clip(np.round(full * 255), 0, 255).astype(np.uint8)
            target = folder / f"{clip_name}_{k}.png"
            with atomic_path(target) as tmp:
                if not cv2.imwrite(str(tmp), png):
                    raise OSError(f"could not write {target}")
            report.frames += 1
        report.videos += 1
        if progress:
            progress(n + 1, len(inputs), video.name)
    return report
