"""SAM 2.1 (transformers Sam2Model + Sam2Processor) used on single images: loader, an engine with an LRU
cache of image embeddings, and the `sam2` point segmenter."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.devices import autocast, resolve_device
from avs_studio.openavs.segmenters.sam import EmbeddingEngine, SamPointSegmenter, _fingerprint


def load_sam2(path: str | Path, device: str | torch.device = "cpu"):
    """(Sam2Model, Sam2Processor) from a local HF-format folder."""
    from transformers import Sam2Model, Sam2Processor

    return weights.load_pretrained("SAM 2", path, device, Sam2Model, Sam2Processor)


@dataclass
class Sam2Embedding:
    features: list[torch.Tensor]  # per feature level, (1, C, h, w)
    original_size: tuple[int, int]
    fingerprint: tuple


class Sam2Engine(EmbeddingEngine):
    def __init__(self, model, processor, device: torch.device, cache_size: int = 16, batch_size: int = 4):
        super().__init__(device, cache_size, batch_size)
        self.model, self.processor = model, processor

    def _encode(self, images: list[np.ndarray]) -> list[Sam2Embedding]:
        enc = self.processor(images=images, return_tensors="pt")
        with autocast(self.device):
            feats = self.model.get_image_embeddings(enc["pixel_values"].to(self.device))
        return [
            Sam2Embedding([f[j : j + 1].float() for f in feats], image.shape[:2], _fingerprint(image))
            for j, image in enumerate(images)
        ]

    def _run(
        self, emb: Sam2Embedding, multimask: bool, masks: torch.Tensor | None = None, **prompts
    ) -> tuple[np.ndarray, np.ndarray]:
        h, w = emb.original_size
        enc = self.processor(original_sizes=[[h, w]], return_tensors="pt", **prompts)
        args = {
            k: enc[k].to(self.device) for k in ("input_points", "input_labels", "input_boxes") if k in enc
        }
        if masks is not None:
            args["input_masks"] = masks.to(self.device)  # the model resizes it to its low-res mask input
        with autocast(self.device):
            res = self.model(image_embeddings=emb.features, multimask_output=multimask, **args)
        out = self.processor.post_process_masks(res.pred_masks.float().cpu(), [[h, w]])[0]
        return out.numpy().astype(bool), res.iou_scores.float().cpu().numpy()[0]

    def boxes_to_masks(self, emb: Sam2Embedding, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(boxes) == 0:
            h, w = emb.original_size
            return np.zeros((0, h, w), bool), np.zeros(0, np.float32)
        masks, scores = self._run(emb, False, input_boxes=[[list(map(float, b)) for b in boxes]])
        return masks[:, 0], scores[:, 0]

    def prompt_to_mask(self, emb, points, labels, box, mask_input) -> tuple[np.ndarray, float]:
        prompts: dict = {}
        if points is not None and len(points):
            lab = np.ones(len(points), int) if labels is None else np.asarray(labels, int)
            prompts["input_points"] = [[[list(map(float, p)) for p in points]]]
            prompts["input_labels"] = [[lab.tolist()]]
        if box is not None:
            prompts["input_boxes"] = [[list(map(float, box))]]
        masks = None
        if mask_input is not None:  # the (H, W) mask at image size; bool -> confident logits
            m = torch.as_tensor(np.asarray(mask_input, np.float32))
            masks = ((m - 0.5) * 20.0 if mask_input.dtype == bool else m)[None, None]
        if not prompts and masks is None:
            raise ValueError("SAM 2 predict needs points, a box or a mask input")
        single_click = "input_points" in prompts and len(points) == 1 and box is None
        masks, scores = self._run(emb, single_click, masks, **prompts)
        best = int(np.argmax(scores[0]))
        return masks[0, best], float(scores[0, best])


def sam2_engine(
    model: str | None = "sam2.1-hiera-large",
    path: str | None = None,
    device: str = "auto",
    cache_size: int = 16,
) -> Sam2Engine:
    dev = resolve_device(device)
    p = weights.local_path(model, path)
    return weights.shared_model("sam2", p, dev, lambda: Sam2Engine(*load_sam2(p, dev), dev, cache_size))


class Sam2PointSegmenter(SamPointSegmenter):
    def __init__(self, engine: Sam2Engine, name: str = "sam2"):
        super().__init__(engine, name)
