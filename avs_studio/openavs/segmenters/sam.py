"""SAM (segment_anything): the checkpoint loader, an engine with an LRU cache of image embeddings, and
the `sam` point segmenter. The engine is shared (one per checkpoint and device) with `gdino-sam`."""

from __future__ import annotations

import threading
import zlib
from abc import ABC, abstractmethod
from collections import OrderedDict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.devices import autocast, resolve_device

# segment_anything's own variants (build_sam.py), keyed by the image encoder's width.
SAM_VARIANTS: dict[str, dict[str, Any]] = {
    "vit_b": {"embed_dim": 768, "depth": 12, "num_heads": 12, "global_attn_indexes": [2, 5, 8, 11]},
    "vit_l": {"embed_dim": 1024, "depth": 24, "num_heads": 16, "global_attn_indexes": [5, 11, 17, 23]},
    "vit_h": {"embed_dim": 1280, "depth": 32, "num_heads": 16, "global_attn_indexes": [7, 15, 23, 31]},
}
SAM_DEFAULTS: dict[str, Any] = {
    "img_size": 1024,
    "window_size": 14,
    "prompt_embed_dim": 256,
    "mlp_dim": 2048,
    "decoder_heads": 8,
    "iou_head_hidden_dim": 256,
}


def sam_config(variant: str) -> dict[str, Any]:
    return {**SAM_DEFAULTS, **SAM_VARIANTS[variant]}


def build_sam_model(cfg: dict[str, Any]) -> torch.nn.Module:
    """segment_anything's Sam from its own classes (as build_sam._build_sam, with the sizes as parameters)."""
    from segment_anything.modeling import (
        ImageEncoderViT,
        MaskDecoder,
        PromptEncoder,
        Sam,
        TwoWayTransformer,
    )

    c = {**SAM_DEFAULTS, **cfg}
    img, dim = int(c["img_size"]), int(c["prompt_embed_dim"])
    return Sam(
        image_encoder=ImageEncoderViT(
            depth=int(c["depth"]),
            embed_dim=int(c["embed_dim"]),
            img_size=img,
            mlp_ratio=4,
            norm_layer=partial(torch.nn.LayerNorm, eps=1e-6),
            num_heads=int(c["num_heads"]),
            patch_size=16,
            qkv_bias=True,
            use_rel_pos=True,
            global_attn_indexes=tuple(c["global_attn_indexes"]),
            window_size=int(c["window_size"]),
            out_chans=dim,
        ),
        prompt_encoder=PromptEncoder(
            embed_dim=dim,
            image_embedding_size=(img // 16, img // 16),
            input_image_size=(img, img),
            mask_in_chans=16,
        ),
        mask_decoder=MaskDecoder(
            num_multimask_outputs=3,
            transformer=TwoWayTransformer(
                depth=2, embedding_dim=dim, mlp_dim=int(c["mlp_dim"]), num_heads=int(c["decoder_heads"])
            ),
            transformer_dim=dim,
            iou_head_depth=3,
            iou_head_hidden_dim=int(c["iou_head_hidden_dim"]),
        ),
        pixel_mean=[123.675, 116.28, 103.53],
        pixel_std=[58.395, 57.12, 57.375],
    ).eval()


def load_sam(path: str | Path, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Load a SAM checkpoint file: the published state dicts (vit_b/l/h, told apart by the encoder width)
    or a {"sam_config": ..., "model": state_dict} file (tiny test models)."""
    path = Path(path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:  # torch raises several types for a corrupt / foreign file
        raise weights.ModelError(f"cannot read SAM checkpoint {path}: {exc}") from exc
    if isinstance(state, dict) and "sam_config" in state:
        cfg, sd = dict(state["sam_config"]), state["model"]
    else:
        sd = state
        key = "image_encoder.patch_embed.proj.weight"
        if key not in sd:
            raise weights.ModelError(f"{path} is not a segment_anything SAM checkpoint (no {key})")
        width = int(sd[key].shape[0])
        variant = next((v for v, c in SAM_VARIANTS.items() if c["embed_dim"] == width), None)
        if variant is None:
            raise weights.ModelError(f"{path}: SAM image encoder width {width} is not vit_b/l/h")
        cfg = sam_config(variant)
    model = build_sam_model(cfg)
    model.load_state_dict(sd)
    return model.to(resolve_device(device)).eval()


def _fingerprint(image: np.ndarray) -> tuple:
    return (image.shape, zlib.crc32(np.ascontiguousarray(image[::7, ::7]).tobytes()))


@dataclass
class SamEmbedding:
    features: torch.Tensor  # (1, C, h, w)
    original_size: tuple[int, int]
    input_size: tuple[int, int]
    fingerprint: tuple


class EmbeddingEngine(ABC):
    """An LRU cache of image embeddings (key -> embedding, checked against the image's fingerprint) in front
    of a batched image encoder, plus the box / point decoding the segmenters call. SAM and SAM 2 engines
    implement `_encode`, `boxes_to_masks` and `prompt_to_mask`."""

    def __init__(self, device: torch.device, cache_size: int = 16, batch_size: int = 4):
        self.device = device
        self.cache: OrderedDict[str, Any] = OrderedDict()
        self.cache_size, self.batch_size = cache_size, batch_size
        self.encoded_images = 0  # how many images went through the image encoder
        self.lock = threading.RLock()

    @abstractmethod
    def _encode(self, images: list[np.ndarray]) -> list[Any]:
        """One batch of images -> their embeddings (each with a `fingerprint`)."""

    @abstractmethod
    def boxes_to_masks(self, emb: Any, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) xyxy boxes in image pixels -> (N, H, W) bool masks and (N,) scores, single-mask output."""

    @abstractmethod
    def prompt_to_mask(self, emb, points, labels, box, mask_input) -> tuple[np.ndarray, float]:
        """Points (N, 2) with labels / an xyxy box / an (H, W) mask prompt -> the best (H, W) bool mask
        and its score."""

    def embed_many(self, keys: list[str | None], images: list[np.ndarray]) -> list[Any]:
        """Embeddings of images, from the cache where the key (and image) match, else batched encodes."""
        with self.lock:
            out: list[Any] = [None] * len(images)
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
                embs = self._encode([images[i] for i in chunk])
                self.encoded_images += len(chunk)
                for i, emb in zip(chunk, embs):
                    out[i] = emb
                    if keys[i] is not None:
                        self.cache[keys[i]] = emb
                        self.cache.move_to_end(keys[i])
                        while len(self.cache) > self.cache_size:
                            self.cache.popitem(last=False)
            return out


class SamEngine(EmbeddingEngine):
    """One SAM model behind the embedding cache, and its box/point decoding."""

    def __init__(
        self, model: torch.nn.Module, device: torch.device, cache_size: int = 16, batch_size: int = 4
    ):
        from segment_anything.utils.transforms import ResizeLongestSide

        super().__init__(device, cache_size, batch_size)
        self.model = model
        self.transform = ResizeLongestSide(model.image_encoder.img_size)

    def _preprocess(self, image: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError(f"SAM needs uint8 RGB (H, W, 3) images, got {image.dtype} {image.shape}")
        x = self.transform.apply_image(image)
        t = torch.as_tensor(x, device=self.device).permute(2, 0, 1).contiguous()[None]
        return self.model.preprocess(t.float())[0], (x.shape[0], x.shape[1])

    def _encode(self, images: list[np.ndarray]) -> list[SamEmbedding]:
        preps = [self._preprocess(image) for image in images]
        with autocast(self.device):
            feats = self.model.image_encoder(torch.stack([p[0] for p in preps])).float()
        return [
            SamEmbedding(feats[j : j + 1], image.shape[:2], prep[1], _fingerprint(image))
            for j, (image, prep) in enumerate(zip(images, preps))
        ]

    def _decode(
        self, emb: SamEmbedding, points=None, boxes=None, masks=None, multimask: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        m = self.model
        with autocast(self.device):
            sparse, dense = m.prompt_encoder(points=points, boxes=boxes, masks=masks)
            low, iou = m.mask_decoder(
                image_embeddings=emb.features,
                image_pe=m.prompt_encoder.get_dense_pe(),
                sparse_prompt_embeddings=sparse,
                dense_prompt_embeddings=dense,
                multimask_output=multimask,
            )
            full = m.postprocess_masks(low.float(), emb.input_size, emb.original_size)
        return (full > m.mask_threshold).cpu().numpy(), iou.float().cpu().numpy()

    def boxes_to_masks(self, emb: SamEmbedding, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 4) xyxy boxes in image pixels -> (N, H, W) bool masks and (N,) scores, single-mask output."""
        if len(boxes) == 0:
            h, w = emb.original_size
            return np.zeros((0, h, w), bool), np.zeros(0, np.float32)
        b = torch.as_tensor(np.asarray(boxes, np.float32), device=self.device)
        b = self.transform.apply_boxes_torch(b, emb.original_size)
        masks, scores = self._decode(emb, boxes=b)
        return masks[:, 0], scores[:, 0]

    def prompt_to_mask(
        self,
        emb: SamEmbedding,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: tuple | None,
        mask_input: np.ndarray | None,
    ) -> tuple[np.ndarray, float]:
        pts = None
        if points is not None and len(points):
            p = self.transform.apply_coords(np.asarray(points, np.float32), emb.original_size)
            lab = np.ones(len(p)) if labels is None else np.asarray(labels)
            pts = (
                torch.as_tensor(p, dtype=torch.float32, device=self.device)[None],
                torch.as_tensor(lab, dtype=torch.int64, device=self.device)[None],
            )
        bx = None
        if box is not None:
            b = self.transform.apply_boxes(np.asarray(box, np.float32)[None], emb.original_size)
            bx = torch.as_tensor(b, dtype=torch.float32, device=self.device)
        mk = self._mask_prompt(emb, mask_input) if mask_input is not None else None
        if pts is None and bx is None and mk is None:
            raise ValueError("SAM predict needs points, a box or a mask input")
        single_click = pts is not None and pts[0].shape[1] == 1 and bx is None
        masks, scores = self._decode(emb, points=pts, boxes=bx, masks=mk, multimask=single_click)
        best = int(np.argmax(scores[0]))
        return masks[0, best], float(scores[0, best])

    def _mask_prompt(self, emb: SamEmbedding, mask: np.ndarray) -> torch.Tensor:
        """An (H, W) mask at image size (bool, or float logits) -> SAM's low-res mask logits."""
        img = self.model.image_encoder.img_size
        t = torch.as_tensor(np.asarray(mask, np.float32), device=self.device)
        if mask.dtype == bool:
            t = (t - 0.5) * 20.0  # bool -> confident logits
        h, w = emb.input_size
        t = torch.nn.functional.interpolate(t[None, None], (h, w), mode="bilinear", align_corners=False)
        t = torch.nn.functional.pad(t, (0, img - w, 0, img - h), value=-10.0)
        side = self.model.prompt_encoder.mask_input_size
        return torch.nn.functional.interpolate(t, side, mode="bilinear", align_corners=False)


def sam_engine(
    model: str | None = "sam-vit-h", path: str | None = None, device: str = "auto", cache_size: int = 16
) -> SamEngine:
    dev = resolve_device(device)
    p = weights.local_path(model, path)
    return weights.shared_model("sam", p, dev, lambda: SamEngine(load_sam(p, dev), dev, cache_size))


class SamPointSegmenter:
    """SAM / SAM 2 click / box refinement; embeddings are computed ahead by embed() and LRU-cached by key."""

    def __init__(self, engine: EmbeddingEngine, name: str = "sam"):
        self.engine, self.name = engine, name

    def embed(self, key: str, image: np.ndarray) -> None:
        self.engine.embed_many([key], [image])

    def predict(
        self,
        key: str,
        image: np.ndarray,
        points: np.ndarray | None,
        labels: np.ndarray | None,
        box: tuple[float, float, float, float] | None = None,
        mask_input: np.ndarray | None = None,
    ) -> np.ndarray:
        emb = self.engine.embed_many([key], [image])[0]
        mask, _ = self.engine.prompt_to_mask(emb, points, labels, box, mask_input)
        return mask
