"""avs_studio.openavs: the OpenAVS pipeline (audio -> text -> LLM prompt -> masks), see docs/CONTRACTS.md.

Importing this package is light (no torch, transformers or openai): the model-backed stages are
registered by their factories (openavs.factories), which import their modules when a stage is built.
"""

from __future__ import annotations

from avs_studio.openavs import (
    factories,  # noqa: F401  (registers ast, clap, whisper, audio-lm, gdino-sam(2), sam3, sam, sam2)
    testing,  # noqa: F401  (registers fixed, tone, keyword, color-box, color-point)
    translators,  # noqa: F401  (registers openai, hf-chat, offline)
)
from avs_studio.openavs.config import (
    ConfigError,
    PipelineConfig,
    StageSpec,
    load_config,
    profiles,
    user_profiles,
)
from avs_studio.openavs.pipeline import Pipeline, PipelineError, build_point_segmenter
from avs_studio.openavs.registry import (
    DESCRIBERS,
    POINT_SEGMENTERS,
    SEGMENTERS,
    TRANSLATORS,
    Registry,
    UnknownStageError,
    register_describer,
    register_point_segmenter,
    register_segmenter,
    register_translator,
)
from avs_studio.openavs.translators import TranslationError, TranslatorConnectionError
from avs_studio.openavs.types import (
    AudioDescriber,
    Clip,
    ClipProposal,
    FrameProposal,
    ObjectProposal,
    PointSegmenter,
    PromptTranslator,
    TextSegmenter,
    Translation,
)
from avs_studio.openavs.weights import ModelError, ModelMissingError

__all__ = [
    "DESCRIBERS",
    "POINT_SEGMENTERS",
    "SEGMENTERS",
    "TRANSLATORS",
    "AudioDescriber",
    "Clip",
    "ClipProposal",
    "ConfigError",
    "FrameProposal",
    "ModelError",
    "ModelMissingError",
    "ObjectProposal",
    "Pipeline",
    "PipelineConfig",
    "PipelineError",
    "PointSegmenter",
    "PromptTranslator",
    "Registry",
    "StageSpec",
    "TextSegmenter",
    "Translation",
    "TranslationError",
    "TranslatorConnectionError",
    "UnknownStageError",
    "load_config",
    "profiles",
    "register_describer",
    "register_point_segmenter",
    "register_segmenter",
    "register_translator",
    "build_point_segmenter",
    "user_profiles",
]
