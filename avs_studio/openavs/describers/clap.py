"""`clap`: zero-shot audio-text scores (LAION CLAP, transformers) over a sound-source vocabulary."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.describers.common import prepare, top_labels
from avs_studio.openavs.devices import autocast

# Used when avs_studio/resources/sound_sources.txt is absent.
BUILTIN_VOCABULARY = [
    "speech",
    "singing",
    "guitar",
    "piano",
    "violin",
    "drums",
    "dog",
    "cat",
    "bird",
    "car",
    "engine",
    "helicopter",
    "train",
    "baby crying",
    "water",
    "music",
    "keyboard typing",
    "silence",
]


def vocabulary_file() -> Path | None:
    """avs_studio/resources/sound_sources.txt (avs_studio.resources), if present."""
    from avs_studio.resources import resources_dir

    p = resources_dir() / "sound_sources.txt"
    return p if p.is_file() else None


def load_vocabulary(path: str | Path | None = None) -> list[str]:
    """The phrases of a sound-source file (first "|" field of each line; '#' comments skipped; a leading "-",
    which marks a sound with no visible source, dropped), or the built-in list when there is no file."""
    p = Path(path) if path else vocabulary_file()
    if p is None:
        return list(BUILTIN_VOCABULARY)
    lines = [line.split("#")[0].split("|")[0] for line in p.read_text(encoding="utf-8").splitlines()]
    words = [w.strip().lstrip("-").strip() for w in lines]
    words = list(dict.fromkeys(w for w in words if w))
    if not words:
        raise weights.ModelError(f"sound-source vocabulary {p} is empty")
    return words


def load_clap(path: str | Path, device: str | torch.device = "cpu"):
    """(ClapModel, ClapProcessor) from a local HF-format folder."""
    from transformers import ClapModel, ClapProcessor

    return weights.load_pretrained("CLAP", path, device, ClapModel, ClapProcessor)


class ClapDescriber:
    def __init__(
        self,
        model,
        processor,
        device: torch.device,
        vocabulary: list[str],
        template: str = "the sound of {}",
        top_k: int = 3,
        min_prob: float = 0.05,
        batch_size: int = 16,
        name: str = "clap",
    ):
        self.model, self.processor, self.device = model, processor, device
        self.vocabulary, self.template = vocabulary, template
        self.top_k, self.min_prob, self.batch_size, self.name = top_k, min_prob, batch_size, name
        self.lock = threading.Lock()
        self.rate = int(processor.feature_extractor.sampling_rate)  # 48 kHz: it hears up to 24 kHz
        self.text_features = self._text_features()

    def _text_features(self) -> torch.Tensor:
        tok = self.processor.tokenizer
        out = []
        for s in range(0, len(self.vocabulary), 64):
            texts = [self.template.format(w) for w in self.vocabulary[s : s + 64]]
            enc = tok(texts, padding=True, truncation=True, return_tensors="pt").to(self.device)
            with autocast(self.device):
                out.append(self.model.get_text_features(**enc).pooler_output.float())
        return torch.cat(out)

    def scores(self, segments: list[np.ndarray], rate: int) -> np.ndarray:
        """(len(segments), len(vocabulary)) softmax probabilities over the vocabulary."""
        fe = self.processor.feature_extractor
        sr = int(fe.sampling_rate)
        audio = [a if len(a) else np.zeros(sr // 10, np.float32) for a in prepare(segments, rate, sr)]
        scale = float(self.model.logit_scale_a.detach().exp())
        fused = bool(getattr(self.model.config.audio_config, "enable_fusion", False))
        trunc = {} if fused else {"truncation": "rand_trunc"}  # unfused models take one crop, not four
        out = []
        with self.lock:
            for s in range(0, len(audio), self.batch_size):
                enc = fe(audio[s : s + self.batch_size], sampling_rate=sr, return_tensors="pt", **trunc)
                args = {k: v.to(self.device) for k, v in enc.items() if k in ("input_features", "is_longer")}
                with autocast(self.device):
                    a = self.model.get_audio_features(**args).pooler_output.float()
                    logits = scale * a @ self.text_features.T
                out.append(torch.softmax(logits, dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.vocabulary)), np.float32)

    def describe(self, segments: list[np.ndarray], rate: int) -> list[str]:
        probs = self.scores(segments, rate)
        return [
            top_labels(p, self.vocabulary, self.top_k, self.min_prob) if len(np.ravel(seg)) else ""
            for p, seg in zip(probs, segments)
        ]
