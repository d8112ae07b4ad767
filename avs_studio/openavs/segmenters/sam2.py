"""SAM 2.1 (transformers Sam2Model + Sam2Processor) used on single images: loader, an engine with an LRU
cache of image embeddings, and the `sam2` point segmenter."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.devices import autocast, resolve_device
from avs_studio.openavs.registry import register_point_segmenter
from avs_studio.openavs.segmenters.sam import _fingerprint


def load_sam2(path: str | Path, device: str | torch.device = "cpu"):
    """(Sam2Model, Sam2Processor) from a local HF-format folder."""
    from transformers import Sam2Model, Sam2Processor

    path = Path(path)
    try:
        processor = Sam2Processor.from_pretrained(path)
        model = Sam2Model.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise weights.ModelError(f"cannot load SAM 2 from {path}: {exc}") from exc
    return model.to(resolve_device(device)).eval(), processor


@dataclass
class Sam2Embedding:
    features: list[torch.Tensor]  # per feature level, (1, C, h, w)
    original_size: tuple[int, int]
    fingerprint: tuple


class Sam2Engine:
    def __init__(self, model, processor, device: torch.device, cache_size: int = 16, batch_size: int = 4):
        self.model, self.processor, self.device = model, processor, device
        self.cache: OrderedDict[str, Sam2Embedding] = OrderedDict()
        self.cache_size, self.batch_size = cache_size, batch_size
        self.encoded_images = 0
        self.lock = threading.RLock()

    def embed_many(self, keys: list[str | None], images: list[np.ndarray]) -> list[Sam2Embedding]:
        with self.lock:
            out: list[Sam2Embedding | None] = [None] * len(images)
            todo = []
            for i, (key, image) in enumerate(zip(keys, images)):
                hit = self.cache.get(key) if key is not None else None
                if hit is not None and hit.fingerprint == _fingerprint(image):
                    self.cache.move_to_end(key)
                    out[i] = hit
                else:
                    todo.append(i)
            for start in range(0, len(todo), self.batch_size):
                chunk = todo[start : start + self.batch_size]
                enc = self.processor(images=[images[i] for i in chunk], return_tensors="pt")
                with autocast(self.device):
                    feats = self.model.get_image_embeddings(enc["pixel_values"].to(self.device))
                self.encoded_images += len(chunk)
                for j, i in enumerate(chunk):
                    emb = Sam2Embedding(
                        [f[j : j + 1].float() for f in feats], images[i].shape[:2], _fingerprint(images[i])
                    )
                    out[i] = emb
                    if keys[i] is not None:
                        self.cache[keys[i]] = emb
                        self.cache.move_to_end(keys[i])
                        while len(self.cache) > self.cache_size:
                            self.cache.popitem(last=False)
            return out  # type: ignore[return-value]

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


class Sam2PointSegmenter:
    def __init__(self, engine: Sam2Engine, name: str = "sam2"):
        self.engine, self.name = engine, name

    def embed(self, key: str, image: np.ndarray) -> None:
        self.engine.embed_many([key], [image])

    def predict(self, key, image, points, labels, box=None, mask_input=None) -> np.ndarray:
        emb = self.engine.embed_many([key], [image])[0]
        return self.engine.prompt_to_mask(emb, points, labels, box, mask_input)[0]


@register_point_segmenter("sam2")
def make_sam2_point_segmenter(
    model: str | None = "sam2.1-hiera-large",
    path: str | None = None,
    device: str = "auto",
    cache_size: int = 16,
) -> Sam2PointSegmenter:
    return Sam2PointSegmenter(sam2_engine(model, path, device, cache_size))
