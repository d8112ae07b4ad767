"""`audio-lm`: captions from a transformers audio-language model with a chat template (AutoProcessor + a
multimodal generate): Qwen2-Audio, Audio Flamingo 3 and others built the same way.

Each of ``prompts`` is asked of every segment, all in batched generates. The paper's instruction is
"generate audio caption"; its prompt consistency asks three (PAPER_PROMPTS) and hands all three answers
on, joined by " | ": set ``prompts = [...]`` to those three in the describer's table to switch it on."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.describers.common import prepare
from avs_studio.openavs.devices import autocast, resolve_device

PAPER_PROMPTS = [
    "generate audio caption",
    "this is a sound of",
    "generate metadata",
]  # OpenAVS (Pengi's tasks)
DEFAULT_PROMPTS = PAPER_PROMPTS[:1]
ANSWER_SEP = " | "


def load_audio_lm(path: str | Path, device: str | torch.device = "cpu"):
    """(model, processor) of a local HF-format audio-language model folder."""
    from transformers import AutoModelForMultimodalLM, AutoModelForSeq2SeqLM, AutoProcessor

    path = Path(path)
    try:
        processor = AutoProcessor.from_pretrained(path)
        try:
            model = AutoModelForMultimodalLM.from_pretrained(path)
        except ValueError:  # an architecture only mapped as a speech/seq2seq LM
            model = AutoModelForSeq2SeqLM.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise weights.ModelError(f"cannot load the audio-language model from {path}: {exc}") from exc
    if getattr(processor, "tokenizer", None) is None or getattr(processor, "feature_extractor", None) is None:
        raise weights.ModelError(f"{path}: the processor has no tokenizer or no audio feature extractor")
    return model.to(resolve_device(device)).eval(), processor


def build_prompts(processor, prompts: list[str], n_segments: int) -> list[str]:
    """One chat prompt per (segment, prompt), segment-major: an audio entry (the processor expands it into
    the segment's audio tokens) followed by the prompt text."""
    out = []
    for _ in range(n_segments):
        for text in prompts:
            conv = [{"role": "user", "content": [{"type": "audio"}, {"type": "text", "text": text}]}]
            out.append(processor.apply_chat_template(conv, add_generation_prompt=True, tokenize=False))
    return out


class AudioLmDescriber:
    def __init__(
        self,
        model,
        processor,
        device: torch.device,
        prompts: list[str] | None = None,
        max_new_tokens: int = 32,
        batch_size: int = 8,
        name: str = "audio-lm",
    ):
        self.model, self.processor, self.device = model, processor, device
        if prompts is not None and (
            isinstance(prompts, str)
            or not prompts
            or not all(isinstance(p, str) and p.strip() for p in prompts)
        ):
            raise ValueError(
                f"audio-lm: `prompts` must be a list of texts, e.g. {PAPER_PROMPTS}; got {prompts!r}"
            )
        self.prompts = list(prompts or DEFAULT_PROMPTS)
        self.max_new_tokens, self.batch_size, self.name = max_new_tokens, batch_size, name
        self.rate = int(processor.feature_extractor.sampling_rate)
        self.processor.tokenizer.padding_side = "left"  # batched generation continues every row at its end
        self.lock = threading.Lock()

    def generate(self, prompts: list[str], audio: list[np.ndarray]) -> list[str]:
        sr = int(self.processor.feature_extractor.sampling_rate)
        answers = []
        with self.lock:
            for s in range(0, len(prompts), self.batch_size):
                enc = self.processor(
                    text=prompts[s : s + self.batch_size],
                    audio=audio[s : s + self.batch_size],
                    sampling_rate=sr,
                    return_tensors="pt",
                    text_kwargs={"padding": True},  # the audio keeps its window (padding "max_length")
                ).to(self.device)
                with autocast(self.device):
                    out = self.model.generate(**enc, max_new_tokens=self.max_new_tokens, do_sample=False)
                new = out[:, enc["input_ids"].shape[1] :]
                answers += [
                    " ".join(t.split()) for t in self.processor.batch_decode(new, skip_special_tokens=True)
                ]
        return answers

    def describe(self, segments: list[np.ndarray], rate: int) -> list[str]:
        sr = int(self.processor.feature_extractor.sampling_rate)
        audio = prepare(segments, rate, sr)
        keep = [i for i, a in enumerate(audio) if len(a)]
        k = len(self.prompts)
        prompts = build_prompts(self.processor, self.prompts, len(keep))
        answers = self.generate(prompts, [audio[i] for i in keep for _ in range(k)])
        out = [""] * len(audio)
        for j, i in enumerate(keep):
            out[i] = ANSWER_SEP.join(a for a in answers[j * k : (j + 1) * k] if a)
        return out
