"""Plain data passed between the pipeline stages, and the stage protocols."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np

from avs_studio.media import AudioTrack


@dataclass
class Clip:
    """T keyframes of one video and the audio they sit on (mono, whole video, at the rate the pipeline asks
    for: ``Pipeline.audio_rate``)."""

    frames: list[np.ndarray]
    frame_indices: list[int]
    spans: list[tuple[float, float]]
    audio: AudioTrack
    key: str = ""

    def frame_key(self, i: int) -> str:
        return f"{self.key}:{self.frame_indices[i]}"


@dataclass
class ObjectProposal:
    phrase: str
    mask: np.ndarray
    box: tuple[float, float, float, float]
    box_score: float
    mask_score: float


@dataclass
class FrameProposal:
    frame_index: int
    phrases: list[str]
    objects: list[ObjectProposal] = field(default_factory=list)

    def union(self, shape: tuple[int, int]) -> np.ndarray:
        out = np.zeros(shape, dtype=bool)
        for obj in self.objects:
            out |= obj.mask
        return out


@dataclass
class Translation:
    """Per-frame phrases plus the raw exchange, kept for provenance. ``fallback``: set when the configured
    translator gave no usable answer and the pipeline's fallback translator answered instead (what failed,
    its error and its answers)."""

    phrases: list[list[str]]
    prompt: str = ""
    raw: str = ""
    attempts: int = 1
    translator: str = ""
    fallback: dict | None = None

    def as_dict(self) -> dict:
        out = {
            "phrases": self.phrases,
            "prompt": self.prompt,
            "raw": self.raw,
            "attempts": self.attempts,
            "translator": self.translator,
        }
        if self.fallback is not None:
            out["fallback"] = self.fallback
        return out


@dataclass
class ClipProposal:
    frames: list[FrameProposal]
    descriptions: list[dict[str, str]]
    translation: dict
    models: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


@runtime_checkable
class AudioDescriber(Protocol):
    name: str

    def describe(self, segments: list[np.ndarray], rate: int) -> list[str]: ...


@runtime_checkable
class PromptTranslator(Protocol):
    name: str

    def translate(self, descriptions: list[dict[str, str]]) -> Translation: ...


@runtime_checkable
class TextSegmenter(Protocol):
    name: str

    def segment(
        self, images: list[np.ndarray], phrases: list[list[str]], keys: list[str] | None = None
    ) -> list[list[ObjectProposal]]: ...


@runtime_checkable
class PointSegmenter(Protocol):
    name: str

    def embed(self, key: str, image: np.ndarray) -> None: ...

    def predict(
        self,
        key: str,
        image: np.ndarray,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: tuple[float, float, float, float] | None = None,
        mask_input: np.ndarray | None = None,
    ) -> np.ndarray: ...
