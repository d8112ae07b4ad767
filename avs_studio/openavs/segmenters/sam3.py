"""SAM 3 (transformers Sam3Model + Sam3Processor) as a text segmenter: a short noun phrase -> a mask for
every instance of it, detection and segmentation in one model. Registered as `sam3`.

A clip is segmented in few model calls: the frames' image features in one batch, every distinct phrase's
text features once, then every (frame, phrase) pair through the detector and mask decoder in batches of
``batch_size``. ``batched = false`` encodes one frame at a time and decodes its phrases (for comparison).
Scores follow the reference post-processing (Sam3Processor.post_process_instance_segmentation):
sigmoid(query logit) x sigmoid(presence logit), masks = bilinear(sigmoid(mask logits)) > mask_threshold.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.devices import autocast
from avs_studio.openavs.factories import SAM3_MASK_THRESHOLD as MASK_THRESHOLD
from avs_studio.openavs.factories import SAM3_MAX_OBJECTS as MAX_OBJECTS
from avs_studio.openavs.factories import SAM3_THRESHOLD as THRESHOLD
from avs_studio.openavs.segmenters.common import NMS_IOU, merge_duplicates
from avs_studio.openavs.types import ObjectProposal


def load_sam3(path: str | Path, device: str | torch.device = "cpu"):
    """(Sam3Model, Sam3Processor) from a local HF-format folder."""
    from transformers import Sam3Model, Sam3Processor

    return weights.load_pretrained("SAM 3", path, device, Sam3Model, Sam3Processor)


def _pick(features: Any, index: torch.Tensor) -> Any:
    """The vision features of the frames at ``index`` (one row per (frame, phrase) pair)."""
    from transformers.models.sam3.modeling_sam3 import Sam3VisionEncoderOutput

    return Sam3VisionEncoderOutput(
        fpn_hidden_states=tuple(f[index] for f in features.fpn_hidden_states),
        fpn_position_encoding=tuple(p[index] for p in features.fpn_position_encoding),
    )


class Sam3Segmenter:
    """TextSegmenter: every instance of each phrase, with its score and mask."""

    name = "sam3"

    def __init__(
        self,
        model,
        processor,
        device: torch.device,
        threshold: float = THRESHOLD,
        mask_threshold: float = MASK_THRESHOLD,
        max_objects: int = MAX_OBJECTS,
        nms_iou: float = NMS_IOU,
        batched: bool = True,
        batch_size: int = 8,
    ):
        for key, value in (
            ("threshold", threshold),
            ("mask_threshold", mask_threshold),
            ("nms_iou", nms_iou),
        ):
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"sam3: {key} must be between 0 and 1, got {value}")
        if int(max_objects) < 1 or int(batch_size) < 1:
            raise ValueError("sam3: max_objects and batch_size must be 1 or more")
        self.model, self.processor, self.device = model, processor, device
        self.threshold, self.mask_threshold = float(threshold), float(mask_threshold)
        self.max_objects, self.nms_iou = int(max_objects), float(nms_iou)
        self.batched, self.batch_size = bool(batched), int(batch_size)
        self.lock = threading.RLock()
        self.calls = {"vision": 0, "text": 0, "decode": 0}  # model calls made (tests, benchmarks)

    # ------------------------------------------------------------------ model calls

    def _text(self, phrases: list[str]) -> tuple[Any, torch.Tensor]:
        enc = self.processor(text=phrases, return_tensors="pt").to(self.device)
        with autocast(self.device):
            out = self.model.get_text_features(
                input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]
            )
        self.calls["text"] += 1
        return out, enc["attention_mask"]

    def _vision(self, images: list[np.ndarray]) -> Any:
        pixels = self.processor(images=[np.array(im) for im in images], return_tensors="pt")["pixel_values"]
        with autocast(self.device):
            out = self.model.get_vision_features(pixel_values=pixels.to(self.device))
        self.calls["vision"] += 1
        return out

    def _decode(self, vision: Any, rows: list[int], text: Any, mask: torch.Tensor, cols: list[int]):
        """Detector + mask decoder on (vision row, phrase column) pairs -> (scores, boxes, mask logits)."""
        from transformers.modeling_outputs import BaseModelOutputWithPooling

        r = torch.as_tensor(rows, device=self.device)
        c = torch.as_tensor(cols, device=self.device)
        with autocast(self.device):
            out = self.model(
                vision_embeds=_pick(vision, r),
                text_embeds=BaseModelOutputWithPooling(pooler_output=text.pooler_output[c]),
                attention_mask=mask[c],
            )
        self.calls["decode"] += 1
        scores = out.pred_logits.float().sigmoid()
        if out.presence_logits is not None:
            scores = scores * out.presence_logits.float().sigmoid()
        return scores, out.pred_boxes.float(), out.pred_masks

    # ------------------------------------------------------------------ segmenting

    def segment(
        self, images: list[np.ndarray], phrases: list[list[str]], keys: list[str] | None = None
    ) -> list[list[ObjectProposal]]:
        if len(phrases) != len(images) or (keys is not None and len(keys) != len(images)):
            raise ValueError("segment: images, phrases and keys must have the same length")
        per_frame = [list(dict.fromkeys(p.strip() for p in ps if p and p.strip())) for ps in phrases]
        vocab = list(dict.fromkeys(p for ps in per_frame for p in ps))
        found: list[list[tuple[str, float, np.ndarray, torch.Tensor]]] = [[] for _ in images]
        if not vocab:
            return [[] for _ in images]
        column = {p: j for j, p in enumerate(vocab)}
        with self.lock:
            text, mask = self._text(vocab)
            frames = [i for i, ps in enumerate(per_frame) if ps]
            groups = [frames] if self.batched else [[i] for i in frames]
            for group in groups:
                vision = self._vision([images[i] for i in group])
                pairs = [(k, i, p) for k, i in enumerate(group) for p in per_frame[i]]
                for s in range(0, len(pairs), self.batch_size):
                    chunk = pairs[s : s + self.batch_size]
                    scores, boxes, masks = self._decode(
                        vision, [k for k, _, _ in chunk], text, mask, [column[p] for _, _, p in chunk]
                    )
                    scores, boxes = scores.cpu(), boxes.cpu().numpy()  # one device sync per batch
                    for row, (_, i, p) in enumerate(chunk):
                        found[i] += self._candidates(p, scores[row], boxes[row], masks[row])
        return [self._objects(images[i].shape[:2], found[i]) for i in range(len(images))]

    def _candidates(self, phrase: str, scores, boxes, masks) -> list[tuple[str, float, np.ndarray, Any]]:
        """The queries of one (frame, phrase) pair scoring above the threshold, best first (scores and
        boxes on the CPU, mask logits where the model ran)."""
        keep = torch.nonzero(scores > self.threshold).flatten()
        keep = keep[torch.argsort(scores[keep], descending=True)]
        chosen = masks[keep.to(masks.device)]  # a copy: the batch's other queries are freed
        return [(phrase, float(scores[q]), boxes[q], chosen[k : k + 1]) for k, q in enumerate(keep.tolist())]

    def _objects(self, hw: tuple[int, int], cands: list) -> list[ObjectProposal]:
        """Candidates of one frame -> objects: boxes to pixels, duplicates merged, masks at frame size."""
        if not cands:
            return []
        h, w = hw
        scale = np.array([w, h, w, h], np.float32)
        boxes = np.stack([np.clip(c[2] * scale, 0, scale) for c in cands])
        order = merge_duplicates(boxes, np.array([c[1] for c in cands]), self.nms_iou)
        out: list[ObjectProposal] = []
        for s in range(0, len(order), self.max_objects):  # frame-size masks for a few at a time
            chunk = order[s : s + self.max_objects]
            low = torch.cat([cands[i][3] for i in chunk]).float().sigmoid()[None]  # (1, K, h', w')
            probs = torch.nn.functional.interpolate(low, size=(h, w), mode="bilinear", align_corners=False)[0]
            binary = probs > self.mask_threshold
            area = binary.flatten(1).sum(1)
            mean = (probs * binary).flatten(1).sum(1) / area.clamp(min=1)  # mask probability inside the mask
            binary, area, mean = binary.cpu().numpy(), area.cpu().numpy(), mean.cpu().numpy()
            for k, i in enumerate(chunk):
                if area[k] == 0:  # an empty mask is no object
                    continue
                box = tuple(float(v) for v in boxes[i])
                out.append(ObjectProposal(cands[i][0], binary[k], box, cands[i][1], float(mean[k])))
                if len(out) == self.max_objects:
                    return out
        return out
