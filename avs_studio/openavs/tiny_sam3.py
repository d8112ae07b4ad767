"""SAM 3 with random weights: the tiny model of the `tiny:sam3` family (tests) and the published-size model
(`random_sam3(full_size=True)`) that GPU benchmarks time without downloading anything."""

from __future__ import annotations

from pathlib import Path

import torch

from avs_studio.openavs.tiny import _seeded


def clip_char_tokenizer():
    """A CLIP BPE tokenizer over single byte-level characters (no merges): every text tokenizes, with ids
    below 600, so it serves any CLIP text encoder of at least that vocabulary (SAM 3's has 49408)."""
    from transformers import CLIPTokenizer
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    chars = list(bytes_to_unicode().values())
    vocab: dict[str, int] = {}
    for t in ["<|startoftext|>", "<|endoftext|>", *chars, *(c + "</w>" for c in chars)]:
        vocab.setdefault(t, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=32)


def sam3_config(full_size: bool = False, vocab_size: int = 600):
    """Sam3Config: the published architecture (full_size: Sam3Config() defaults, ViT-L 1008 px, about
    0.85 B parameters) or a tiny one (112 px images, one layer per stage, 20 queries)."""
    from transformers import CLIPTextConfig, Sam3Config, Sam3VisionConfig, Sam3ViTConfig

    if full_size:
        return Sam3Config()
    size, patch = 112, 14
    g = size // patch
    vit = Sam3ViTConfig(
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, image_size=size,
        patch_size=patch, window_size=4, global_attn_indexes=[1], pretrain_image_size=size // 2,
    )  # fmt: skip
    vision = Sam3VisionConfig(
        backbone_config=vit, fpn_hidden_size=32, backbone_feature_sizes=[[4 * g] * 2, [2 * g] * 2, [g, g]]
    )
    text = CLIPTextConfig(
        vocab_size=vocab_size, hidden_size=32, intermediate_size=64, projection_dim=16, num_hidden_layers=1,
        num_attention_heads=2, max_position_embeddings=32, bos_token_id=0, eos_token_id=1, pad_token_id=1,
    )  # fmt: skip
    small = {"hidden_size": 32, "num_attention_heads": 2, "intermediate_size": 64, "num_layers": 1}
    return Sam3Config(
        vision_config=vision,
        text_config=text,
        geometry_encoder_config=small,
        detr_encoder_config=small,
        detr_decoder_config={**small, "num_queries": 20},
        mask_decoder_config={"hidden_size": 32, "num_attention_heads": 2},
    )


def sam3_processor(config):
    """Sam3Processor for a Sam3Config: its image size, the character tokenizer."""
    from transformers import Sam3ImageProcessor, Sam3Processor

    size = int(config.vision_config.backbone_config.image_size)
    mask = int(config.vision_config.backbone_feature_sizes[0][0])
    improc = Sam3ImageProcessor(
        size={"height": size, "width": size}, mask_size={"height": mask, "width": mask}
    )
    return Sam3Processor(image_processor=improc, tokenizer=clip_char_tokenizer())


def random_sam3(full_size: bool = True, device: str | torch.device = "cpu"):
    """(Sam3Model, Sam3Processor) with random weights, built directly on ``device`` and nothing saved or
    downloaded: the real-size model times like the published one (benchmarks on a GPU)."""
    from transformers import Sam3Model

    cfg = sam3_config(full_size)
    _seeded()
    with torch.device(device):
        model = Sam3Model(cfg).eval()
    return model, sam3_processor(cfg)


def build_tiny_sam3(folder: Path) -> Path:
    """Tiny SAM 3 (ViT backbone + CLIP text encoder + DETR detector + mask decoder), HF format."""
    model, processor = random_sam3(full_size=False)
    processor.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder
