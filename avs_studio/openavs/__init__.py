"""avs_studio.openavs: the OpenAVS pipeline (audio -> text -> LLM prompt -> masks), see docs/CONTRACTS.md.

Importing this package is light (no torch, transformers or openai): the model-backed stages are
registered by name here and their modules are imported when a stage of that name is built.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from avs_studio.openavs import (
    testing,  # noqa: F401  (registers fixed, tone, keyword, color-box, color-point)
    translators,  # noqa: F401  (registers openai, hf-chat, offline)
)
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

# name -> module that registers it when imported (model-backed stages; heavy imports live there).
LAZY_STAGES: dict[Registry, dict[str, str]] = {
    DESCRIBERS: {
        "ast": "avs_studio.openavs.describers.ast",
        "clap": "avs_studio.openavs.describers.clap",
        "whisper": "avs_studio.openavs.describers.whisper",
        "audio-lm": "avs_studio.openavs.describers.audio_lm",
    },
    SEGMENTERS: {
        "gdino-sam": "avs_studio.openavs.segmenters.gdino",
        "gdino-sam2": "avs_studio.openavs.segmenters.gdino",
        "sam3": "avs_studio.openavs.segmenters.sam3",
    },
    POINT_SEGMENTERS: {
        "sam": "avs_studio.openavs.segmenters.sam",
        "sam2": "avs_studio.openavs.segmenters.sam2",
    },
}


def _module_exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def _add_lazy(registry: Registry, name: str, module: str) -> None:
    """Register `name` now; the first build imports `module`, whose decorator replaces this factory."""

    def factory(**params: Any) -> Any:
        registry.remove(name)
        try:
            importlib.import_module(module)
        except BaseException:
            if name not in registry:
                registry.add(name, factory)
            raise
        if name not in registry:
            registry.add(name, factory)
            raise UnknownStageError(f"{module} did not register the {registry.kind} {name!r}")
        return registry.create(name, **params)

    factory.lazy_module = module  # type: ignore[attr-defined]
    registry.add(name, factory)


for _registry, _stages in LAZY_STAGES.items():
    for _name, _module in _stages.items():
        if _name not in _registry and _module_exists(_module):
            _add_lazy(_registry, _name, _module)

from avs_studio.openavs.config import (  # noqa: E402
    ConfigError,
    PipelineConfig,
    StageSpec,
    load_config,
    profiles,
)
from avs_studio.openavs.pipeline import Pipeline, PipelineError  # noqa: E402

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
]
