"""Text -> boxes with GroundingDINO (transformers), then boxes -> masks with SAM or SAM 2.1.

Registered text segmenters: `gdino-sam` and `gdino-sam2`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.devices import autocast
from avs_studio.openavs.segmenters.common import NMS_IOU, merge_duplicates
from avs_studio.openavs.types import ObjectProposal


def load_grounding_dino(path: str | Path, device: str | torch.device = "cpu"):
    """(GroundingDinoForObjectDetection, GroundingDinoProcessor) from a local HF-format folder."""
    from transformers import AutoProcessor, GroundingDinoForObjectDetection

    return weights.load_pretrained(
        "GroundingDINO", path, device, GroundingDinoForObjectDetection, AutoProcessor
    )


def build_prompt(phrases: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """["Guitar", "a man"] -> ("guitar. a man.", char span of each phrase)."""
    text, spans = "", []
    for p in phrases:
        p = " ".join(p.lower().replace(".", " ").split())
        if not p:
            continue
        start = len(text)
        text += p
        spans.append((start, len(text)))
        text += ". "
    return text.strip(), spans


@dataclass
class Detection:
    box: tuple[float, float, float, float]
    score: float  # box score (max token probability)
    phrase: str
    phrase_score: float


class GroundingDino:
    """Batched open-vocabulary detection; each box gets the phrase whose tokens score highest.

    Thresholds (the paper's): a query is a box when its best token probability exceeds ``box_threshold``
    and the phrase it gets scores above ``text_threshold``; boxes overlapping a better one by more than
    ``nms_iou`` (IoU) are duplicates and dropped; at most ``max_boxes`` per frame, best first."""

    def __init__(
        self,
        model,
        processor,
        device: torch.device,
        box_threshold: float = 0.25,
        text_threshold: float = 0.25,
        max_boxes: int = 10,
        nms_iou: float = NMS_IOU,
    ):
        self.model, self.processor, self.device = model, processor, device
        self.box_threshold, self.text_threshold, self.max_boxes = box_threshold, text_threshold, max_boxes
        self.nms_iou = float(nms_iou)
        self.max_text_len = int(getattr(model.config, "max_text_len", 256))
        self.lock = threading.RLock()

    def detect(self, images: list[np.ndarray], phrases: list[list[str]]) -> list[list[Detection]]:
        out: list[list[Detection]] = [[] for _ in images]
        prompts = [build_prompt(p) for p in phrases]
        idx = [i for i, (text, _) in enumerate(prompts) if text]
        if not idx:
            return out
        texts = [prompts[i][0] for i in idx]
        tok = self.processor.tokenizer
        with self.lock:
            enc = self.processor(
                images=[np.array(images[i]) for i in idx],  # decoded frames are read-only
                text=texts,
                return_tensors="pt",
                padding=True,
                truncation=True,
                max_length=self.max_text_len,
            ).to(self.device)
            with autocast(self.device):
                res = self.model(**enc)
            probs = res.logits.float().sigmoid().cpu()  # (B, Q, L)
            boxes = res.pred_boxes.float().cpu()  # (B, Q, 4) cx cy w h, relative to each unpadded image
        for b, i in enumerate(idx):
            text, spans = prompts[i]
            names = [text[s:e] for s, e in spans]
            offsets = tok(text, return_offsets_mapping=True, truncation=True, max_length=self.max_text_len)[
                "offset_mapping"
            ]
            token_phrase = np.full(probs.shape[2], -1)
            for t, (s, e) in enumerate(offsets):
                if e > s:
                    for k, (ps, pe) in enumerate(spans):
                        if s >= ps and e <= pe:
                            token_phrase[t] = k
            out[i] = self._pick(probs[b].numpy(), boxes[b].numpy(), token_phrase, names, images[i].shape[:2])
        return out

    def _pick(self, probs, boxes, token_phrase, names, hw) -> list[Detection]:
        h, w = hw
        score = probs.max(axis=1)
        dets = []
        for q in np.argsort(-score):
            if score[q] <= self.box_threshold:
                break
            per_phrase = [probs[q, token_phrase == k].max(initial=0.0) for k in range(len(names))]
            k = int(np.argmax(per_phrase))
            if per_phrase[k] <= self.text_threshold:
                continue
            cx, cy, bw, bh = boxes[q]
            x0, x1 = np.clip([(cx - bw / 2) * w, (cx + bw / 2) * w], 0, w)
            y0, y1 = np.clip([(cy - bh / 2) * h, (cy + bh / 2) * h], 0, h)
            if x1 - x0 < 1 or y1 - y0 < 1:
                continue
            dets.append(
                Detection(
                    (float(x0), float(y0), float(x1), float(y1)),
                    float(score[q]),
                    names[k],
                    float(per_phrase[k]),
                )
            )
        keep = merge_duplicates(
            np.array([d.box for d in dets]), np.array([d.score for d in dets]), self.nms_iou
        )
        return [dets[i] for i in keep[: self.max_boxes]]


def grounding_dino(
    model: str | None,
    path: str | None,
    device: torch.device,
    box_threshold: float,
    text_threshold: float,
    max_boxes: int,
    nms_iou: float = NMS_IOU,
) -> GroundingDino:
    p = weights.local_path(model, path)
    model_, processor = weights.shared_model(
        "grounding-dino", p, device, lambda: load_grounding_dino(p, device)
    )
    return GroundingDino(model_, processor, device, box_threshold, text_threshold, max_boxes, nms_iou)


class DetectThenSegment:
    """TextSegmenter: GroundingDINO boxes for all frames in one batch, then one mask per box."""

    def __init__(self, detector: GroundingDino, engine, name: str):
        self.detector, self.engine, self.name = detector, engine, name

    def segment(
        self, images: list[np.ndarray], phrases: list[list[str]], keys: list[str] | None = None
    ) -> list[list[ObjectProposal]]:
        if len(phrases) != len(images) or (keys is not None and len(keys) != len(images)):
            raise ValueError("segment: images, phrases and keys must have the same length")
        dets = self.detector.detect(images, phrases)
        todo = [i for i, d in enumerate(dets) if d]
        out: list[list[ObjectProposal]] = [[] for _ in images]
        if not todo:
            return out
        ks = [keys[i] if keys else None for i in todo]
        embs = self.engine.embed_many(ks, [images[i] for i in todo])
        for i, emb in zip(todo, embs):
            boxes = np.array([d.box for d in dets[i]], np.float32)
            masks, scores = self.engine.boxes_to_masks(emb, boxes)
            out[i] = [
                ObjectProposal(d.phrase, masks[j], d.box, d.score, float(scores[j]))
                for j, d in enumerate(dets[i])
            ]
        return out
