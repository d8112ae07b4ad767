"""`hf-chat` translator: a local transformers chat model (AutoModelForCausalLM + chat template).

With ``parallel`` = N > 1 the pipeline translates N clips at once from N threads; their prompts meet in a
batcher, and whoever holds the model runs every waiting prompt (up to N) in one left-padded ``generate``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from avs_studio.openavs.registry import register_translator
from avs_studio.openavs.translators.base import TranslationError, translate_with_retries
from avs_studio.openavs.types import Translation

Messages = list[dict[str, str]]


class Batcher:
    """Opportunistic batching for calls from several threads: each call queues its item; the thread that
    holds the model takes up to ``size`` queued items, runs ``run(items) -> results`` once and hands each
    caller its result (or the exception). No waiting for a batch to fill: a lone call runs at once."""

    def __init__(self, run: Callable[[list[Any]], list[Any]], size: int):
        self.run = run
        self.size = max(1, int(size))
        self._queue: list[tuple[Any, Future]] = []
        self._queue_lock = threading.Lock()
        self._model_lock = threading.Lock()

    def __call__(self, item: Any) -> Any:
        job: Future = Future()
        with self._queue_lock:
            self._queue.append((item, job))
        while not job.done():
            with self._model_lock:
                with self._queue_lock:
                    batch, self._queue = self._queue[: self.size], self._queue[self.size :]
                if not batch:
                    continue
                try:
                    results = self.run([it for it, _ in batch])
                except BaseException as exc:  # every caller of the batch sees the failure
                    for _, waiting in batch:
                        waiting.set_exception(exc)
                else:
                    for (_, waiting), result in zip(batch, results, strict=True):
                        waiting.set_result(result)
        return job.result()


class HFChatTranslator:
    name = "hf-chat"

    def __init__(
        self,
        model: str | None = None,
        path: str | None = None,
        device: str = "auto",
        max_new_tokens: int = 256,
        retries: int = 2,
        dtype: str = "auto",
        parallel: int = 1,
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from avs_studio.openavs import weights
        from avs_studio.openavs.devices import resolve_device

        if model is None and path is None:
            raise TranslationError(
                "the hf-chat translator needs `path` (a local transformers chat model folder) or `model` (a "
                "name in avs_studio/resources/models.toml) in the translator section of the pipeline config",
                translator=self.name,
            )
        path = weights.local_path(model, path)  # ModelMissingError names the download command
        if not (path / "config.json").is_file():
            raise TranslationError(
                f"the hf-chat translator's model folder {path} has no config.json: it must hold a transformers "
                f"chat model (config.json, weights and tokenizer with a chat template).",
                translator=self.name,
            )
        self.device = resolve_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        if not getattr(self.tokenizer, "chat_template", None):
            raise TranslationError(
                f"the tokenizer in {path} has no chat template; use a chat/instruct model",
                translator=self.name,
            )
        torch_dtype = {
            "auto": None,
            "float32": torch.float32,
            "bfloat16": torch.bfloat16,
            "float16": torch.float16,
        }[dtype]
        if torch_dtype is None:
            torch_dtype = torch.bfloat16 if self.device.type == "cuda" else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True, dtype=torch_dtype)
        self.model.to(self.device).eval()
        self.model_path = str(path)
        self.max_new_tokens = int(max_new_tokens)
        self.retries = int(retries)
        if int(parallel) < 1:
            raise TranslationError(f"`parallel` must be 1 or more, got {parallel}", translator=self.name)
        self.parallel = int(parallel)  # clips translated at once, their prompts in one generate call
        self._batcher = Batcher(self.generate, self.parallel)

    @property
    def model_id(self) -> str:
        return self.model_path

    def chat(self, messages: Messages) -> str:
        return self._batcher(messages)

    def generate(self, conversations: list[Messages]) -> list[str]:
        """Greedy answers to several conversations in one left-padded batch."""
        import torch

        tok = self.tokenizer
        side = tok.padding_side
        tok.padding_side = "left"  # generation continues every row from its last token
        try:
            inputs = tok.apply_chat_template(
                conversations,
                add_generation_prompt=True,
                padding=True,
                return_tensors="pt",
                return_dict=True,
            )
        finally:
            tok.padding_side = side
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with torch.inference_mode():
            out = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=pad
            )
        start = inputs["input_ids"].shape[1]
        return [tok.decode(row[start:], skip_special_tokens=True) for row in out]

    def translate(self, descriptions: Sequence[dict[str, str]]) -> Translation:
        return translate_with_retries(self.chat, descriptions, translator=self.name, retries=self.retries)


make_hf_chat_translator = register_translator("hf-chat")(
    HFChatTranslator
)  # the class is the factory: its parameters are the stage's
