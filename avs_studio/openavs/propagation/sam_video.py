"""The `sam2` and `sam3` engines: the SAM 2.1 video predictor (transformers ``Sam2VideoModel``) and the SAM 3
tracker (``Sam3TrackerVideoModel``), fed one frame at a time (streaming) with the anchor masks as the
conditioning frame.

Bounded memory: the session is opened per track with no video; after each frame, the frames and the
tracked outputs older than the model's memory window (``num_maskmem`` mask memories,
``max_object_pointers_in_encoder`` object pointers) are dropped, so what a track holds does not grow with
the number of frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from avs_studio.openavs import weights
from avs_studio.openavs.devices import compute_dtype, resolve_device
from avs_studio.openavs.propagation.base import register_propagator
from avs_studio.openavs.propagation.models import load_video_model

DEFAULT_MODELS = {"sam2": "sam2.1-hiera-tiny", "sam3": "sam3"}


class SamVideoPropagator:
    def __init__(self, family: str, model: Any, processor: Any, device: torch.device, models: dict[str, str]):
        self.name = family
        self.model, self.processor, self.device = model, processor, device
        self.dtype = compute_dtype(device)
        if self.dtype != torch.float32:
            self.model.to(self.dtype)
        cfg = model.config
        # frames back the next step looks at: mask memories and object pointers of the last few frames
        self.window = max(int(cfg.num_maskmem), int(cfg.max_object_pointers_in_encoder)) - 1
        self.models = models

    def describe(self) -> dict[str, Any]:
        return {"engine": self.name, "device": str(self.device), "dtype": str(self.dtype).removeprefix("torch."),
                "models": self.models, "memory_window": self.window}  # fmt: skip

    def start(self, frame: np.ndarray, masks: dict[int, np.ndarray]) -> SamVideoTrack:
        return SamVideoTrack(self, frame, masks)


class SamVideoTrack:
    def __init__(self, engine: SamVideoPropagator, frame: np.ndarray, masks: dict[int, np.ndarray]):
        self.engine = engine
        self.size = frame.shape[:2]
        self.keys = list(masks)
        self.session = engine.processor.init_video_session(inference_device=engine.device, dtype=engine.dtype)
        self.index = 0
        if self.keys:
            engine.processor.add_inputs_to_inference_session(
                self.session, frame_idx=0, obj_ids=list(self.keys),  # the model empties that list
                input_masks=[np.asarray(masks[k], bool) for k in self.keys],
            )  # fmt: skip
            self._forward(frame)  # the conditioning frame: its output is the mask given

    def _forward(self, frame: np.ndarray) -> Any:
        eng = self.engine
        image = frame if frame.flags.writeable else frame.copy()  # decoded frames are shared, read-only
        pixels = eng.processor(images=image, device=eng.device, return_tensors="pt").pixel_values[0]
        with torch.inference_mode():
            out = eng.model(inference_session=self.session, frame=pixels.to(eng.dtype), frame_idx=self.index)
        return out

    def _trim(self) -> None:
        """Drop frames and tracked outputs the next step cannot use (older than the memory window)."""
        s, oldest = self.session, self.index - self.engine.window + 1
        for i in [i for i in s.processed_frames or {} if i < self.index]:
            del s.processed_frames[i]
        for per_obj in (*(d["non_cond_frame_outputs"] for d in s.output_dict_per_obj.values()),
                        *s.frames_tracked_per_obj.values()):  # fmt: skip
            for i in [i for i in per_obj if i < oldest]:
                del per_obj[i]

    def step(self, frame: np.ndarray) -> dict[int, np.ndarray]:
        if not self.keys:
            return {}
        self.index += 1
        out = self._forward(frame)
        masks = self.engine.processor.post_process_masks(
            [out.pred_masks.float()], original_sizes=[list(self.size)], binarize=True
        )[0]
        self._trim()
        ids = list(out.object_ids)
        return {k: masks[ids.index(k), 0].cpu().numpy().astype(bool) for k in self.keys}

    def close(self) -> None:
        self.session.reset_inference_session()
        self.session.processed_frames = None


def _make(family: str, model: str | None, path: str | None, device: str) -> SamVideoPropagator:
    dev = resolve_device(device)
    try:
        p = weights.local_path(model, path)
    except weights.UnknownModelError as exc:
        raise weights.ModelError(
            f"the {family} propagation engine needs its weights: {exc}. Give a local folder in the [{family}] "
            f'table of --config (path = "FOLDER", a transformers-format checkpoint)'
        ) from exc
    loaded = weights.shared_model(f"{family}-video", Path(p), dev, lambda: load_video_model(family, p, dev))
    return SamVideoPropagator(family, *loaded, dev, {family: str(model or path)})


@register_propagator("sam2")
def make_sam2(model: str | None = DEFAULT_MODELS["sam2"], path: str | None = None, device: str = "auto"
              ) -> SamVideoPropagator:  # fmt: skip
    return _make("sam2", model, path, device)


@register_propagator("sam3")
def make_sam3(model: str | None = DEFAULT_MODELS["sam3"], path: str | None = None, device: str = "auto"
              ) -> SamVideoPropagator:  # fmt: skip
    return _make("sam3", model, path, device)
