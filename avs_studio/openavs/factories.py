"""Factories of the model-backed stages, registered by name. Light to import: each body imports its
torch-backed module when the stage is first built, so a profile is checked against these signatures (the
stages' parameters, openavs.schema) before anything heavy loads, and without the [models] extra.
"""

from __future__ import annotations

import importlib
from typing import Any

from avs_studio.openavs.registry import register_describer, register_point_segmenter, register_segmenter
from avs_studio.openavs.segmenters.common import NMS_IOU

WHISPER_LANGUAGE = "en"  # the language spoken; "auto": Whisper guesses it from each (short) segment
# `sam3` (docs/openavs-thresholds.md lists every threshold):
SAM3_THRESHOLD = 0.5  # an instance is kept when sigmoid(logit) x sigmoid(presence) exceeds this
SAM3_MASK_THRESHOLD = 0.5  # a pixel belongs to the mask when its mask probability exceeds this
SAM3_MAX_OBJECTS = 10  # most objects kept per frame (all phrases together), best first


# ---------------------------------------------------------------- audio describers


@register_describer("ast")
def make_ast(
    model: str | None = "ast-audioset",
    path: str | None = None,
    top_k: int = 3,
    threshold: float = 0.1,
    batch_size: int = 16,
    device: str = "auto",
) -> Any:
    from avs_studio.openavs import weights
    from avs_studio.openavs.describers.ast import AstDescriber, load_ast
    from avs_studio.openavs.devices import resolve_device

    dev = resolve_device(device)
    p = weights.local_path(model, path)
    m, fe = weights.shared_model("ast", p, dev, lambda: load_ast(p, dev))
    return AstDescriber(m, fe, dev, top_k, threshold, batch_size)


@register_describer("clap")
def make_clap(
    model: str | None = "clap-htsat",
    path: str | None = None,
    vocabulary: str | None = None,
    template: str = "the sound of {}",
    top_k: int = 3,
    min_prob: float = 0.05,
    batch_size: int = 16,
    device: str = "auto",
) -> Any:
    from avs_studio.openavs import weights
    from avs_studio.openavs.describers.clap import ClapDescriber, load_clap, load_vocabulary
    from avs_studio.openavs.devices import resolve_device

    dev = resolve_device(device)
    p = weights.local_path(model, path)
    m, proc = weights.shared_model("clap", p, dev, lambda: load_clap(p, dev))
    return ClapDescriber(m, proc, dev, load_vocabulary(vocabulary), template, top_k, min_prob, batch_size)


@register_describer("whisper")
def make_whisper(
    model: str | None = "whisper-small",
    path: str | None = None,
    language: str = WHISPER_LANGUAGE,
    vad_threshold: float = 0.5,
    min_speech_ms: int = 250,
    max_tokens: int = 48,
    device: str = "auto",
) -> Any:
    from avs_studio.openavs import weights
    from avs_studio.openavs.describers.whisper import (
        WhisperDescriber,
        load_whisper,
        silero_speech,
        whisper_language,
    )
    from avs_studio.openavs.devices import resolve_device

    code = whisper_language(language)  # a bad name fails before the model loads
    dev = resolve_device(device)
    p = weights.local_path(model, path)
    m = weights.shared_model("whisper", p, dev, lambda: load_whisper(p, dev))
    return WhisperDescriber(m, dev, silero_speech(min_speech_ms, vad_threshold), code or "auto", max_tokens)


@register_describer("audio-lm")
def make_audio_lm(
    model: str | None = None,
    path: str | None = None,
    prompts: list[str] | None = None,
    max_new_tokens: int = 32,
    batch_size: int = 8,
    device: str = "auto",
) -> Any:
    from avs_studio.openavs import weights
    from avs_studio.openavs.describers.audio_lm import AudioLmDescriber, load_audio_lm
    from avs_studio.openavs.devices import resolve_device

    dev = resolve_device(device)
    p = weights.local_path(model, path)
    m, proc = weights.shared_model("audio-lm", p, dev, lambda: load_audio_lm(p, dev))
    return AudioLmDescriber(m, proc, dev, prompts, max_new_tokens, batch_size)


# ---------------------------------------------------------------- text segmenters


def _detect_then_segment(name: str, engine: str, default_sam: str) -> Any:
    """Register `name`: GroundingDINO boxes, then masks from segmenters.`engine`.`engine`_engine."""

    def make(
        detector: str | None = "grounding-dino-tiny",
        detector_path: str | None = None,
        sam: str | None = default_sam,
        sam_path: str | None = None,
        box_threshold: float = 0.25,
        text_threshold: float = 0.25,
        max_boxes: int = 10,
        nms_iou: float = NMS_IOU,
        cache_size: int = 16,
        device: str = "auto",
    ) -> Any:
        from avs_studio.openavs.devices import resolve_device
        from avs_studio.openavs.segmenters.gdino import DetectThenSegment, grounding_dino

        module = importlib.import_module(f"avs_studio.openavs.segmenters.{engine}")
        engine_factory = getattr(module, f"{engine}_engine")
        dev = resolve_device(device)
        det = grounding_dino(detector, detector_path, dev, box_threshold, text_threshold, max_boxes, nms_iou)
        return DetectThenSegment(det, engine_factory(sam, sam_path, str(dev), cache_size), name)

    make.__name__ = make.__qualname__ = f"make_{name.replace('-', '_')}"
    return register_segmenter(name)(make)


make_gdino_sam = _detect_then_segment("gdino-sam", "sam", "sam-vit-h")
make_gdino_sam2 = _detect_then_segment("gdino-sam2", "sam2", "sam2.1-hiera-large")


@register_segmenter("sam3")
def make_sam3(
    model: str | None = "sam3",
    path: str | None = None,
    threshold: float = SAM3_THRESHOLD,
    mask_threshold: float = SAM3_MASK_THRESHOLD,
    max_objects: int = SAM3_MAX_OBJECTS,
    nms_iou: float = NMS_IOU,
    batched: bool = True,
    batch_size: int = 8,
    device: str = "auto",
) -> Any:
    from avs_studio.openavs import weights
    from avs_studio.openavs.devices import resolve_device
    from avs_studio.openavs.segmenters.sam3 import Sam3Segmenter, load_sam3

    dev = resolve_device(device)
    p = weights.local_path(model, path)
    m, proc = weights.shared_model("sam3", p, dev, lambda: load_sam3(p, dev))
    return Sam3Segmenter(m, proc, dev, threshold, mask_threshold, max_objects, nms_iou, batched, batch_size)


# ---------------------------------------------------------------- point segmenters (clicks)


@register_point_segmenter("sam")
def make_sam_point_segmenter(
    model: str | None = "sam-vit-h", path: str | None = None, device: str = "auto", cache_size: int = 16
) -> Any:
    from avs_studio.openavs.segmenters.sam import SamPointSegmenter, sam_engine

    return SamPointSegmenter(sam_engine(model, path, device, cache_size))


@register_point_segmenter("sam2")
def make_sam2_point_segmenter(
    model: str | None = "sam2.1-hiera-large",
    path: str | None = None,
    device: str = "auto",
    cache_size: int = 16,
) -> Any:
    from avs_studio.openavs.segmenters.sam2 import Sam2PointSegmenter, sam2_engine

    return Sam2PointSegmenter(sam2_engine(model, path, device, cache_size))
