"""`openai` translator: any OpenAI-compatible chat endpoint (OpenAI, Ollama, llama.cpp server, vLLM)."""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal, get_args

from avs_studio.openavs.registry import register_translator
from avs_studio.openavs.translators.base import (
    TranslationError,
    TranslatorConnectionError,
    translate_with_retries,
)
from avs_studio.openavs.translators.schema import answer_schema
from avs_studio.openavs.types import Translation

OPENAI_URL = "https://api.openai.com/v1"
DEFAULT_OPENAI_MODEL = "gpt-4o"
ENV_URL = "AVS_STUDIO_LLM_BASE_URL"
ENV_MODEL = "AVS_STUDIO_LLM_MODEL"
ENV_KEY = "AVS_STUDIO_LLM_API_KEY"
# response_format: "auto" asks for the answer's JSON schema and, when the server refuses that, asks again
# in plain mode (and stays plain); "json_schema" always asks for it; "json_object" asks for any JSON
# object; "text" asks for nothing (the prompt alone describes the answer).
ResponseFormat = Literal["auto", "json_schema", "json_object", "text"]
RESPONSE_FORMATS = get_args(ResponseFormat)
REFUSED_FORMAT = (400, 415, 422, 500, 501)  # HTTP statuses of servers that do not take a response_format


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
        response_format: ResponseFormat = "auto",
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
        if response_format not in RESPONSE_FORMATS:
            raise TranslationError(
                f"`response_format` must be one of {', '.join(RESPONSE_FORMATS)}, got {response_format!r}",
                translator=self.name,
            )
        self.response_format = response_format
        self.schema_refused = False  # "auto": the server refused the schema once; plain mode from then on
        if int(parallel) < 1:
            raise TranslationError(
                f"`parallel` (clip prompts in flight at once) must be 1 or more, got {parallel}",
                translator=self.name,
            )
        self.parallel = int(parallel)  # the pipeline sends this many clips' prompts at once
        self._client: Any = None  # openai.OpenAI, made on first use
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

    def _format(self, n_frames: int | None) -> dict[str, Any] | None:
        mode = self.response_format
        if mode == "json_object":
            return {"type": "json_object"}
        if mode == "json_schema" or (mode == "auto" and not self.schema_refused and n_frames):
            return answer_schema(n_frames or 1)
        return None

    def chat(self, messages: list[dict[str, str]], n_frames: int | None = None) -> str:
        """One chat completion; with ``n_frames``, the answer's JSON schema is asked for (response_format)."""
        import openai

        fmt = self._format(n_frames)
        try:
            response = self._complete(messages, fmt)
        except openai.APIStatusError as exc:
            if not (fmt and self.response_format == "auto" and exc.status_code in REFUSED_FORMAT):
                raise self._status_error(exc) from exc
            self.schema_refused = True  # plain mode from now on (the prompt describes the answer)
            try:
                response = self._complete(messages, None)
            except openai.APIStatusError as exc2:
                raise self._status_error(exc2) from exc2
        choice = response.choices[0] if response.choices else None
        return (choice.message.content if choice is not None and choice.message else None) or ""

    def _complete(self, messages: list[dict[str, str]], fmt: dict[str, Any] | None):
        import openai

        kwargs: dict[str, Any] = {"response_format": fmt} if fmt else {}
        try:
            return self._get_client().chat.completions.create(
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

    def _status_error(self, exc: Any) -> TranslationError:
        """An HTTP error answer: the endpoint's settings are wrong (401, 403, 404, 429: the job stops,
        TranslatorConnectionError) or this request failed (other statuses: this clip's translation)."""
        hint = {
            401: f"check the API key ({ENV_KEY} or OPENAI_API_KEY)",
            403: f"check the API key ({ENV_KEY} or OPENAI_API_KEY)",
            404: f"check the model name {self.model!r} ({ENV_MODEL}) and the URL ({ENV_URL})",
            429: "the server is rate limiting: lower `parallel` or wait",
        }
        kind = TranslatorConnectionError if exc.status_code in hint else TranslationError
        return kind(
            f"the LLM endpoint {self.base_url} answered HTTP {exc.status_code}: {exc.message}; "
            f"{hint.get(exc.status_code, 'see the server log')}.",
            translator=self.name,
        )

    def translate(self, descriptions: Sequence[dict[str, str]]) -> Translation:
        n = len(descriptions)
        return translate_with_retries(
            lambda messages: self.chat(messages, n), descriptions, translator=self.name, retries=self.retries
        )


make_openai_translator = register_translator("openai")(
    OpenAIChatTranslator
)  # the class is the factory: its parameters are the stage's
