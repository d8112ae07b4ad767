"""Prompt translators (descriptions -> per-frame visible sound-source phrases), registered by name.

Importing this package registers `openai`, `hf-chat` and `offline`; their heavy libraries (openai,
transformers, sentence-transformers) are imported only when a translator is built.
"""

from avs_studio.openavs.translators import hf_chat, offline, openai_chat  # noqa: F401  (registration)
from avs_studio.openavs.translators.answer import Answer, normalise_phrase, parse_answer, read_answer
from avs_studio.openavs.translators.base import (
    SYSTEM_PROMPT,
    TranslationError,
    TranslationRecord,
    TranslatorConnectionError,
    build_prompt,
    translate_with_retries,
)
from avs_studio.openavs.translators.openai_chat import llm_configured, llm_settings
from avs_studio.openavs.translators.schema import ClipAnswer, TranslateInput, answer_model, answer_schema
from avs_studio.openavs.translators.vocabulary import Vocabulary, VocabularyError, load_vocabulary

__all__ = [
    "SYSTEM_PROMPT",
    "Answer",
    "ClipAnswer",
    "TranslateInput",
    "TranslationError",
    "TranslationRecord",
    "TranslatorConnectionError",
    "Vocabulary",
    "VocabularyError",
    "answer_model",
    "answer_schema",
    "build_prompt",
    "llm_configured",
    "llm_settings",
    "load_vocabulary",
    "normalise_phrase",
    "parse_answer",
    "read_answer",
    "translate_with_retries",
]
