"""Deterministic pipeline stages for tests (this layer's, the jobs', the GUI's) and demos.

Registered by name like the model-backed stages, so a test swaps a stage in the config:
- describer `fixed`: the same text(s) for every segment (``texts`` cycled); silent segments give "".
- describer `tone`: the dominant frequency of a segment picks a text (``tones`` {"440": "dog barking"});
  ``rate``: the audio rate it asks the pipeline for (frequencies up to half of it are heard).
- translator `keyword`: a frame gets ``keywords[k]`` when its descriptions contain k (same prompt and
  validation as the LLM translators, so provenance looks the same).
- segmenter `color-box`: each phrase names a colour (``colors`` {"guitar": [220, 40, 40]} or a colour
  word in the phrase, "red square"); every connected region of that colour is one object.
- point segmenter `color-point`: a click selects the connected region of the clicked colour.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import numpy as np

from avs_studio.openavs.registry import (
    DESCRIBERS,
    POINT_SEGMENTERS,
    SEGMENTERS,
    TRANSLATORS,
    ignoring_device,
)
from avs_studio.openavs.translators.base import translate_with_retries
from avs_studio.openavs.types import ObjectProposal, Translation

COLOUR_WORDS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 200, 60),
    "blue": (40, 60, 220),
    "yellow": (230, 210, 40),
    "magenta": (210, 40, 200),
    "cyan": (40, 200, 210),
    "white": (255, 255, 255),
    "black": (0, 0, 0),
}


def rms(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(np.sqrt(np.mean(x * x))) if x.size else 0.0


def _mono(segment: np.ndarray) -> np.ndarray:
    x = np.asarray(segment, dtype=np.float32)
    return x.mean(axis=0) if x.ndim == 2 else x


class FixedDescriber:
    name = "fixed"

    def __init__(self, texts: Sequence[str] | str = ("",), silence_rms: float = 1e-3):
        self.texts = [texts] if isinstance(texts, str) else list(texts)
        if not self.texts:
            raise ValueError("the fixed describer needs at least one text (texts = [...])")
        self.silence_rms = float(silence_rms)

    def describe(self, segments: list[np.ndarray], rate: int) -> list[str]:
        return [
            "" if rms(_mono(seg)) < self.silence_rms else self.texts[i % len(self.texts)]
            for i, seg in enumerate(segments)
        ]


class ToneDescriber:
    """Dominant FFT frequency -> text of the nearest listed tone within ``tolerance`` Hz, else ``other``."""

    name = "tone"

    def __init__(
        self,
        tones: Mapping[str, str],
        tolerance: float = 40.0,
        other: str = "",
        silence_rms: float = 1e-3,
        rate: int = 16000,
    ):
        self.rate = int(rate)  # the audio rate it asks for (the pipeline decodes at its describers' highest)
        self.tones = sorted((float(f), text) for f, text in tones.items())
        self.tolerance = float(tolerance)
        self.other = other
        self.silence_rms = float(silence_rms)

    def dominant(self, segment: np.ndarray, rate: int) -> float | None:
        x = _mono(segment).astype(np.float64)
        if x.size < 32 or rms(x) < self.silence_rms:
            return None
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
        spec[0] = 0.0
        return float(np.fft.rfftfreq(x.size, 1.0 / rate)[int(np.argmax(spec))])

    def describe(self, segments: list[np.ndarray], rate: int) -> list[str]:
        out = []
        for seg in segments:
            f = self.dominant(seg, rate)
            text = ""
            if f is not None:
                text = self.other
                if self.tones:
                    best = min(self.tones, key=lambda t: abs(t[0] - f))
                    if abs(best[0] - f) <= self.tolerance:
                        text = best[1]
            out.append(text)
        return out


class KeywordTranslator:
    name = "keyword"

    def __init__(self, keywords: Mapping[str, str]):
        self.keywords = {k.lower(): v for k, v in keywords.items()}

    def answer(self, descriptions: Sequence[dict[str, str]]) -> list[list[str]]:
        frames = []
        for per_describer in descriptions:
            text = " ".join(per_describer.values()).lower()
            frames.append(list(dict.fromkeys(v for k, v in self.keywords.items() if k in text)))
        return frames

    def translate(self, descriptions: Sequence[dict[str, str]]) -> Translation:
        def chat(_messages: list[dict[str, str]]) -> str:
            frames = self.answer(descriptions)
            return json.dumps({"frames": [{"frame": i + 1, "objects": p} for i, p in enumerate(frames)]})

        return translate_with_retries(chat, descriptions, translator=self.name, retries=0)


def colour_mask(image: np.ndarray, colour: Sequence[int], tolerance: int) -> np.ndarray:
    diff = np.abs(image.astype(np.int16) - np.asarray(colour, np.int16)[None, None, :])
    return diff.max(axis=2) <= tolerance


def regions(mask: np.ndarray, min_area: int) -> list[np.ndarray]:
    """Connected regions (8-connected) of at least ``min_area`` pixels, largest first."""
    import cv2  # imported when used: `--help` stays light
    n, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    order = sorted(range(1, n), key=lambda i: -stats[i, cv2.CC_STAT_AREA])
    return [labels == i for i in order if stats[i, cv2.CC_STAT_AREA] >= min_area]


def box_of(mask: np.ndarray) -> tuple[float, float, float, float]:
    ys, xs = np.nonzero(mask)
    return (float(xs.min()), float(ys.min()), float(xs.max() + 1), float(ys.max() + 1))


class ColorBoxSegmenter:
    name = "color-box"

    def __init__(
        self, colors: Mapping[str, Sequence[int]] | None = None, tolerance: int = 40, min_area: int = 16
    ):
        self.colors = {k.lower(): (int(v[0]), int(v[1]), int(v[2])) for k, v in (colors or {}).items()}
        self.tolerance = int(tolerance)
        self.min_area = int(min_area)

    def colour_of(self, phrase: str) -> tuple[int, int, int] | None:
        p = phrase.lower()
        if p in self.colors:
            return self.colors[p]
        for word in p.split():
            if word in COLOUR_WORDS:
                return COLOUR_WORDS[word]
        return None

    def segment_one(self, image: np.ndarray, phrases: list[str]) -> list[ObjectProposal]:
        out = []
        for phrase in phrases:
            colour = self.colour_of(phrase)
            if colour is None:
                continue
            for region in regions(colour_mask(image, colour, self.tolerance), self.min_area):
                x0, y0, x1, y1 = box_of(region)
                fill = float(region.sum()) / max(1.0, (x1 - x0) * (y1 - y0))
                out.append(ObjectProposal(phrase, region, (x0, y0, x1, y1), 1.0, round(fill, 4)))
        return out

    def segment(
        self, images: list[np.ndarray], phrases: list[list[str]], keys: list[str] | None = None
    ) -> list[list[ObjectProposal]]:
        return [self.segment_one(img, ph) for img, ph in zip(images, phrases)]


class ColorPointSegmenter:
    """Positive points add the connected region of their pixel's colour; negative points remove theirs."""

    name = "color-point"

    def __init__(self, tolerance: int = 40, cache_size: int = 16):
        self.tolerance = int(tolerance)
        self.cache_size = int(cache_size)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self.embed_calls = 0

    def embed(self, key: str, image: np.ndarray) -> None:
        self.embed_calls += 1
        self._cache[key] = np.ascontiguousarray(image)
        self._cache.move_to_end(key)
        while len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)

    def is_cached(self, key: str) -> bool:
        return key in self._cache

    def _region_at(self, image: np.ndarray, x: int, y: int) -> np.ndarray:
        import cv2
        same = colour_mask(image, image[y, x], self.tolerance).astype(np.uint8)
        _, labels = cv2.connectedComponents(same, connectivity=8)
        return labels == labels[y, x]

    def predict(
        self,
        key: str,
        image: np.ndarray,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: tuple[float, float, float, float] | None = None,
        mask_input: np.ndarray | None = None,
    ) -> np.ndarray:
        if key not in self._cache:
            self.embed(key, image)
        img = self._cache[key]
        h, w = img.shape[:2]
        mask = np.zeros((h, w), bool) if mask_input is None else np.asarray(mask_input, bool).copy()
        pts = np.zeros((0, 2)) if points is None else np.asarray(points, float).reshape(-1, 2)
        labs = np.ones(len(pts), int) if labels is None else np.asarray(labels, int).reshape(-1)
        for (x, y), lab in zip(pts, labs):
            xi, yi = int(np.clip(round(x), 0, w - 1)), int(np.clip(round(y), 0, h - 1))
            region = self._region_at(img, xi, yi)
            mask = mask | region if lab > 0 else mask & ~region
        if box is not None:
            x0, y0, x1, y1 = (int(round(v)) for v in box)
            inside = np.zeros((h, w), bool)
            inside[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)] = True
            mask = mask & inside if len(pts) else inside
        return mask


DESCRIBERS.add("fixed", ignoring_device(FixedDescriber))
DESCRIBERS.add("tone", ignoring_device(ToneDescriber))
TRANSLATORS.add("keyword", ignoring_device(KeywordTranslator))
SEGMENTERS.add("color-box", ignoring_device(ColorBoxSegmenter))
POINT_SEGMENTERS.add("color-point", ignoring_device(ColorPointSegmenter))
