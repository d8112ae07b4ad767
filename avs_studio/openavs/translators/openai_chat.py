"""`openai` translator: any OpenAI-compatible chat endpoint (OpenAI, Ollama, llama.cpp server, vLLM)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from avs_studio.openavs.registry import register_translator
from avs_studio.openavs.translators.base import (
    TranslationError,
    TranslatorConnectionError,
    translate_with_retries,
)
from avs_studio.openavs.types import Translation

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o"
ENV_URL = "AVS_STUDIO_LLM_BASE_URL"
ENV_MODEL = "AVS_STUDIO_LLM_MODEL"
ENV_KEY = "AVS_STUDIO_LLM_API_KEY"


def llm_settings(
    params: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """base_url / model / api_key from params first, then the environment; None where unset."""
    params = dict(params or {})
    env = os.environ if env is None else env
    return {
        "base_url": params.get("base_url") or env.get(ENV_URL) or None,
        "model": params.get("model") or env.get(ENV_MODEL) or None,
        "api_key": params.get("api_key") or env.get(ENV_KEY) or env.get("OPENAI_API_KEY") or None,
    }


def llm_configured(params: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> bool:
    """True when an LLM endpoint is set: a base URL or a model, or an OpenAI key."""
    s = llm_settings(params, env)
    return bool(s["base_url"] or s["model"] or s["api_key"])


class OpenAIChatTranslator:
    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        retries: int = 2,
        http_retries: int = 1,
        temperature: float = 0.0,
        max_tokens: int = 512,
        json_mode: bool = False,
        parallel: int = 1,
        device: str | None = None,  # accepted for a uniform factory signature; unused
    ):
        s = llm_settings({"base_url": base_url, "model": model, "api_key": api_key})
        self.base_url = (s["base_url"] or OPENAI_URL).rstrip("/")
        if s["model"] is None and self.base_url != OPENAI_URL:
            raise TranslationError(
                f"no LLM model is set for the endpoint {self.base_url}: set {ENV_MODEL} (or `model` in the "
                f"translator section of the pipeline config), e.g. the name `ollama list` shows.",
                translator=self.name,
            )
        self.model = s["model"] or DEFAULT_OPENAI_MODEL
        if s["api_key"] is None and self.base_url == OPENAI_URL:
            raise TranslationError(
                f"no API key for {OPENAI_URL}: set {ENV_KEY} or OPENAI_API_KEY, or point {ENV_URL} at a local "
                f"OpenAI-compatible server (Ollama, llama.cpp, vLLM).",
                translator=self.name,
            )
        self.api_key = s["api_key"] or "not-needed"
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.http_retries = int(http_retries)
        self.temperature = float(temperature)
        self.max_tokens = int(max_tokens)
        self.json_mode = bool(json_mode)
        if int(parallel) < 1:
            raise TranslationError(
                f"`parallel` (clip prompts in flight at once) must be 1 or more, got {parallel}",
                translator=self.name,
            )
        self.parallel = int(parallel)  # the pipeline sends this many clips' prompts at once
        self._client = None
        self._client_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        return f"{self.model} @ {self.base_url}"

    def _get_client(self):
        with self._client_lock:  # one client (thread-safe) shared by the pipeline's translation threads
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    base_url=self.base_url,
                    api_key=self.api_key,
                    timeout=self.timeout,
                    max_retries=self.http_retries,
                )
            return self._client

    def chat(self, messages: list[dict[str, str]]) -> str:
        import openai

        kwargs: dict[str, Any] = {}
        if self.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        try:
            response = self._get_client().chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                **kwargs,
            )
        except openai.APITimeoutError as exc:
            raise TranslatorConnectionError(
                f"the LLM endpoint {self.base_url} did not answer within {self.timeout:g} s. Check that the "
                f"server ({ENV_URL}) is running and not overloaded, or raise `timeout` in the translator "
                f"section of the pipeline config.",
                translator=self.name,
            ) from exc
        except openai.APIConnectionError as exc:
            raise TranslatorConnectionError(
                f"could not connect to the LLM endpoint {self.base_url} ({exc.__cause__ or exc}). Check "
                f"{ENV_URL} (or `base_url` in the translator section of the pipeline config) and that the "
                f"server is running.",
                translator=self.name,
            ) from exc
        except openai.APIStatusError as exc:
            hint = {
                401: f"check the API key ({ENV_KEY} or OPENAI_API_KEY)",
                403: f"check the API key ({ENV_KEY} or OPENAI_API_KEY)",
                404: f"check the model name {self.model!r} ({ENV_MODEL}) and the URL ({ENV_URL})",
            }.get(exc.status_code, "see the server's log")
            raise TranslatorConnectionError(
                f"the LLM endpoint {self.base_url} answered HTTP {exc.status_code}: {exc.message}; {hint}.",
                translator=self.name,
            ) from exc
        choice = response.choices[0] if response.choices else None
        return (choice.message.content if choice is not None and choice.message else None) or ""

    def translate(self, descriptions: Sequence[dict[str, str]]) -> Translation:
        return translate_with_retries(self.chat, descriptions, translator=self.name, retries=self.retries)


@register_translator("openai")
def make_openai_translator(**params: Any) -> OpenAIChatTranslator:
    return OpenAIChatTranslator(**params)
