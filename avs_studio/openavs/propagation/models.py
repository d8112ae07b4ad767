"""SAM 2.1 / SAM 3 video trackers (transformers) for propagation: loaders, tiny random models for tests,
and the real-size random-weight models (default configs, no download) for timing on a GPU.

Tiny families (written like ``avs_studio.openavs.tiny``'s, and registered into its BUILDERS so
``path = "tiny:sam2-video"`` works in a config): ``sam2-video``, ``sam3-tracker-video``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from avs_studio.openavs import tiny, weights

TINY_SIZE = 128
# transformers fixes the memory channels at 64 (kv_in_dim of the memory attention); the hidden size must
# be a larger multiple of it (object pointers are split into 64-channel tokens)
HIDDEN = 128


def processor_for(family: str, image_processor: Any = None) -> Any:
    """The video processor of ``family`` ("sam2" | "sam3") around an image processor (default config).
    Streaming uses only the image processor; the video processor gets its default configuration."""
    from transformers import (
        Sam2ImageProcessor,
        Sam2VideoProcessor,
        Sam2VideoVideoProcessor,
        Sam3ImageProcessor,
        Sam3TrackerVideoProcessor,
    )

    if family == "sam2":
        improc = image_processor or Sam2ImageProcessor()
        size = improc.size
        return Sam2VideoProcessor(image_processor=improc, video_processor=Sam2VideoVideoProcessor(size=size))
    if family == "sam3":
        improc = image_processor or Sam3ImageProcessor()
        size = improc.size
        return Sam3TrackerVideoProcessor(
            image_processor=improc, video_processor=Sam2VideoVideoProcessor(size=size)
        )
    raise ValueError(f"unknown video tracker family {family!r}; use sam2 or sam3")


def model_class(family: str) -> Any:
    from transformers import Sam2VideoModel, Sam3TrackerVideoModel

    return {"sam2": Sam2VideoModel, "sam3": Sam3TrackerVideoModel}[family]


def load_video_model(family: str, path: str | Path, device: Any = "cpu") -> tuple[Any, Any]:
    """(video model, video processor) from a local HF-format folder (a SAM 2.1 checkpoint such as
    facebook/sam2.1-hiera-tiny, or facebook/sam3 for the SAM 3 tracker)."""
    from transformers import AutoImageProcessor

    what = {"sam2": "SAM 2.1 video", "sam3": "SAM 3 tracker"}[family]

    class _Proc:  # weights.load_pretrained's processor_cls: the image processor inside a video processor
        @staticmethod
        def from_pretrained(p: Path) -> Any:
            return processor_for(family, AutoImageProcessor.from_pretrained(p))

    return weights.load_pretrained(what, path, device, model_class(family), _Proc)


# ---------------------------------------------------------------- tiny random models (tests)


def _tiny_sam2_config() -> Any:
    from transformers import (
        Sam2HieraDetConfig,
        Sam2VideoConfig,
        Sam2VideoMaskDecoderConfig,
        Sam2VideoPromptEncoderConfig,
        Sam2VisionConfig,
    )

    size = TINY_SIZE
    backbone = Sam2HieraDetConfig(
        hidden_size=16, image_size=[size, size], blocks_per_stage=[1, 1, 2, 1],
        embed_dim_per_stage=[16, 32, 64, 128], num_attention_heads_per_stage=[1, 1, 2, 2],
        window_size_per_stage=[4, 4, 4, 4], global_attention_blocks=[3],
        window_positional_embedding_background_size=[2, 2],
    )  # fmt: skip
    vision = Sam2VisionConfig(
        backbone_config=backbone, backbone_channel_list=[128, 64, 32, 16],
        backbone_feature_sizes=[[size // 4, size // 4], [size // 8, size // 8], [size // 16, size // 16]],
        fpn_hidden_size=HIDDEN,
    )  # fmt: skip
    return Sam2VideoConfig(
        vision_config=vision,
        prompt_encoder_config=Sam2VideoPromptEncoderConfig(hidden_size=HIDDEN, image_size=size, patch_size=16),
        mask_decoder_config=Sam2VideoMaskDecoderConfig(
            hidden_size=HIDDEN, mlp_dim=64, num_attention_heads=2, iou_head_hidden_dim=32
        ),
        image_size=size, **_tiny_memory(size),
    )  # fmt: skip


def _tiny_memory(size: int) -> dict[str, Any]:
    return dict(
        memory_attention_hidden_size=HIDDEN, memory_attention_num_layers=1, memory_attention_feed_forward_hidden_size=64,
        memory_attention_rope_feat_sizes=[size // 16, size // 16], memory_encoder_hidden_size=HIDDEN,
        memory_encoder_output_channels=64, mask_downsampler_embed_dim=HIDDEN, memory_fuser_embed_dim=HIDDEN,
        memory_fuser_intermediate_dim=64, num_maskmem=3, max_object_pointers_in_encoder=4,
    )  # fmt: skip


def _tiny_sam3_config() -> Any:
    from transformers import (
        Sam3TrackerVideoConfig,
        Sam3TrackerVideoMaskDecoderConfig,
        Sam3TrackerVideoPromptEncoderConfig,
        Sam3VisionConfig,
        Sam3ViTConfig,
    )

    size = 112  # patch 14 -> 8x8 tokens; FPN scales 4, 2, 1 -> 32, 16, 8
    vit = Sam3ViTConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=size,
        patch_size=14, pretrain_image_size=size, window_size=4, global_attn_indexes=[1],
    )  # fmt: skip
    vision = Sam3VisionConfig(
        backbone_config=vit, fpn_hidden_size=HIDDEN, scale_factors=[4.0, 2.0, 1.0, 0.5],
        backbone_feature_sizes=[[32, 32], [16, 16], [8, 8]],
    )  # fmt: skip
    return Sam3TrackerVideoConfig(
        vision_config=vision,
        prompt_encoder_config=Sam3TrackerVideoPromptEncoderConfig(hidden_size=HIDDEN, image_size=size, patch_size=14),
        mask_decoder_config=Sam3TrackerVideoMaskDecoderConfig(
            hidden_size=HIDDEN, mlp_dim=64, num_attention_heads=2, iou_head_hidden_dim=32
        ),
        image_size=size, **{**_tiny_memory(size), "memory_attention_rope_feat_sizes": [8, 8]},
    )  # fmt: skip


def _build_tiny(family: str, folder: Path) -> Path:
    from transformers import Sam2ImageProcessor, Sam3ImageProcessor

    tiny._seeded()
    cfg = _tiny_sam2_config() if family == "sam2" else _tiny_sam3_config()
    model = model_class(family)(cfg).eval()
    size = cfg.image_size
    improc = (Sam2ImageProcessor if family == "sam2" else Sam3ImageProcessor)(
        size={"height": size, "width": size}
    )
    processor_for(family, improc).save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


def build_tiny_sam2_video(folder: Path) -> Path:
    return _build_tiny("sam2", Path(folder))


def build_tiny_sam3_tracker_video(folder: Path) -> Path:
    return _build_tiny("sam3", Path(folder))


VIDEO_BUILDERS = {"sam2-video": build_tiny_sam2_video, "sam3-tracker-video": build_tiny_sam3_tracker_video}
for _name, _builder in VIDEO_BUILDERS.items():
    tiny.BUILDERS.setdefault(_name, _builder)


# ---------------------------------------------------------------- real size, random weights (timing)

# SAM 2.1 Hiera-large backbone (sam2.1_hiera_l.yaml); hiera-tiny is transformers' default Sam2VideoConfig.
HIERA_LARGE = dict(
    hidden_size=144, blocks_per_stage=[2, 6, 36, 4], embed_dim_per_stage=[144, 288, 576, 1152],
    num_attention_heads_per_stage=[2, 4, 8, 16], global_attention_blocks=[23, 33, 43],
    window_size_per_stage=[8, 4, 16, 8], window_positional_embedding_background_size=[7, 7],
)  # fmt: skip
REAL_SIZES = ("sam2-hiera-tiny", "sam2-hiera-large", "sam3")


def real_size_video_model(name: str = "sam2-hiera-tiny", device: Any = "cpu") -> tuple[Any, Any]:
    """(model, processor) at the published size with RANDOM weights, from default configs (no download):
    "sam2-hiera-tiny" (Sam2VideoConfig()), "sam2-hiera-large", "sam3" (Sam3TrackerVideoConfig()), built
    on ``device`` ("cuda", "cpu", or "meta" for shapes only). Speed and memory do not depend on weight
    values; the masks are meaningless. Time it with ``sam_video.SamVideoPropagator(family, model,
    processor, torch.device(device), {})``: the engine path `propagate` uses."""
    from transformers import Sam2HieraDetConfig, Sam2VideoConfig, Sam2VisionConfig, Sam3TrackerVideoConfig

    from avs_studio.openavs.devices import resolve_device

    if name == "sam2-hiera-tiny":
        family, cfg = "sam2", Sam2VideoConfig()
    elif name == "sam2-hiera-large":
        vision = Sam2VisionConfig(
            backbone_config=Sam2HieraDetConfig(**HIERA_LARGE), backbone_channel_list=[1152, 576, 288, 144]
        )
        family, cfg = "sam2", Sam2VideoConfig(vision_config=vision)
    elif name == "sam3":
        family, cfg = "sam3", Sam3TrackerVideoConfig()
    else:
        raise ValueError(f"unknown real-size video model {name!r}; use one of {', '.join(REAL_SIZES)}")
    torch.manual_seed(0)
    dev = torch.device("meta") if device == "meta" else resolve_device(device)
    with dev:  # weights are created where they run ("meta": shapes only, for counting)
        model = model_class(family)(cfg).eval()
    return model, processor_for(family)
