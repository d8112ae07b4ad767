"""`hf-chat` translator: a local transformers chat model (AutoModelForCausalLM + chat template)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from avs_studio.openavs.registry import register_translator
from avs_studio.openavs.translators.base import TranslationError, translate_with_retries
from avs_studio.openavs.types import Translation


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
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from avs_studio.openavs import weights
        from avs_studio.openavs.devices import resolve_device

        if model is None and path is None:
            raise TranslationError(
                "the hf-chat translator needs `path` (a local transformers chat model folder) or `model` (a "
                "name in resources/models.toml) in the translator section of the pipeline config",
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

    @property
    def model_id(self) -> str:
        return self.model_path

    def chat(self, messages: list[dict[str, str]]) -> str:
        import torch

        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        inputs = {k: v.to(self.device) for k, v in inputs.items()}
        pad = self.tokenizer.pad_token_id
        if pad is None:
            pad = self.tokenizer.eos_token_id
        with torch.inference_mode():
            out = self.model.generate(
                **inputs, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=pad
            )
        new_tokens = out[0, inputs["input_ids"].shape[1] :]
        return self.tokenizer.decode(new_tokens, skip_special_tokens=True)

    def translate(self, descriptions: Sequence[dict[str, str]]) -> Translation:
        return translate_with_retries(self.chat, descriptions, translator=self.name, retries=self.retries)


@register_translator("hf-chat")
def make_hf_chat_translator(**params: Any) -> HFChatTranslator:
    return HFChatTranslator(**params)
