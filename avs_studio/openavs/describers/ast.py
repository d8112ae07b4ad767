"""`ast`: AudioSet tags from the Audio Spectrogram Transformer (transformers)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.describers.common import prepare, top_labels
from avs_studio.openavs.devices import autocast


def load_ast(path: str | Path, device: str | torch.device = "cpu"):
    """(ASTForAudioClassification, ASTFeatureExtractor) from a local HF-format folder."""
    from transformers import ASTFeatureExtractor, ASTForAudioClassification

    return weights.load_pretrained("AST", path, device, ASTForAudioClassification, ASTFeatureExtractor)


class AstDescriber:
    def __init__(
        self,
        model,
        feature_extractor,
        device: torch.device,
        top_k: int = 3,
        threshold: float = 0.1,
        batch_size: int = 16,
        name: str = "ast",
    ):
        self.model, self.fe, self.device = model, feature_extractor, device
        self.top_k, self.threshold, self.batch_size, self.name = top_k, threshold, batch_size, name
        cfg = model.config
        self.labels = [cfg.id2label[i] for i in range(cfg.num_labels)]
        self.rate = int(feature_extractor.sampling_rate)  # the audio rate it listens at
        self.lock = threading.Lock()

    def scores(self, segments: list[np.ndarray], rate: int) -> np.ndarray:
        """(len(segments), num_labels) sigmoid scores, batched."""
        sr = int(self.fe.sampling_rate)
        audio = [a if len(a) else np.zeros(sr // 10, np.float32) for a in prepare(segments, rate, sr)]
        out = []
        with self.lock:
            for s in range(0, len(audio), self.batch_size):
                enc = self.fe(audio[s : s + self.batch_size], sampling_rate=sr, return_tensors="pt")
                with autocast(self.device):
                    logits = self.model(input_values=enc["input_values"].to(self.device)).logits
                out.append(torch.sigmoid(logits.float()).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)

    def describe(self, segments: list[np.ndarray], rate: int) -> list[str]:
        probs = self.scores(segments, rate)
        return [
            top_labels(p, self.labels, self.top_k, self.threshold) if len(np.ravel(seg)) else ""
            for p, seg in zip(probs, segments)
        ]
