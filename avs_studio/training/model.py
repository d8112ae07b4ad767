"""The student: a compact audio-visual segmentation network in the TPAVI / AVSegFormer family.

image -> encoder features at strides 4, 8, 16 -> each fused with the audio (FiLM + cross-attention from
pixels to audio tokens, TPAVI-style) -> FPN decoder -> one foreground logit per pixel.
log-mel -> small CNN -> a few audio tokens over time (and their mean as a global vector).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from avs_studio.training.settings import DEFAULTS

IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)


class ModelConfigError(ValueError):
    """A student configuration or backbone weight file is unusable (message names it)."""


@dataclass
class StudentConfig:
    backbone: str = "tiny"  # "tiny" (our small CNN) or any timm model name, e.g. resnet18
    image_size: int = DEFAULTS.image_size  # square input side in pixels
    n_mels: int = 64
    audio_frames: int = 100  # log-mel frames of one second (hop 10 ms)
    width: int = DEFAULTS.width  # channels of the tiny encoder's first stage
    decoder_channels: int = 64
    audio_dim: int = 64
    audio_tokens: int = 4
    heads: int = 4
    backbone_weights: str | None = None  # local weights file of a timm backbone (pretrained), optional
    audio_classes: int = 0  # sound classes of the audio-class auxiliary head (0: no head)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudentConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ModelConfigError(f"unknown student model settings: {', '.join(unknown)}")
        return cls(**data)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
        nn.GroupNorm(min(8, cout), cout),
        nn.ReLU(inplace=True),
    )


class _Stage(nn.Sequential):
    def __init__(self, cin: int, cout: int):
        super().__init__(_conv(cin, cout, 2), _conv(cout, cout))


class TinyEncoder(nn.Module):
    """A small CNN for CPU use and tests: features at strides 4, 8, 16."""

    def __init__(self, width: int):
        super().__init__()
        w = width
        self.stem = _Stage(3, w)  # stride 2
        self.s4 = _Stage(w, w * 2)
        self.s8 = _Stage(w * 2, w * 4)
        self.s16 = _Stage(w * 4, w * 4)
        self.channels = [w * 2, w * 4, w * 4]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        f4 = self.s4(self.stem(x))
        f8 = self.s8(f4)
        return [f4, f8, self.s16(f8)]


class TimmEncoder(nn.Module):
    """Any timm backbone with ``features_only`` (strides 4, 8, 16); weights from a local file or random."""

    def __init__(self, name: str, weights: str | None):
        super().__init__()
        self.body = timm_features(name, Path(weights) if weights else None)
        self.channels = list(self.body.feature_info.channels())

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return list(self.body(x))


def _stride_indices(name: str) -> tuple[int, ...]:
    """timm's feature indices of strides 4, 8 and 16 in backbone ``name`` (deeper stages are not built)."""
    import timm

    try:
        probe = timm.create_model(name, pretrained=False, features_only=True)
    except RuntimeError as exc:  # timm: "Unknown model (...)"
        raise ModelConfigError(f"unknown image backbone {name!r}: {exc}") from exc
    reductions = list(probe.feature_info.reduction())
    if not all(r in reductions for r in (4, 8, 16)):
        raise ModelConfigError(f"image backbone {name!r} has no features at strides 4, 8 and 16")
    return tuple(reductions.index(r) for r in (4, 8, 16))


def timm_features(name: str, weights: Path | None) -> nn.Module:
    """timm's ``features_only`` model ``name`` (strides 4, 8, 16); with ``weights`` (a timm/torchvision
    state dict, .pth or .safetensors, as the Hub's timm repos publish them) loaded through timm's own
    pretrained-weights path. A file that is missing, unreadable or made for another architecture raises
    ModelConfigError."""
    import timm
    from timm.models import load_state_dict

    indices = _stride_indices(name)
    if weights is None:
        return timm.create_model(name, pretrained=False, features_only=True, out_indices=indices)
    if not weights.is_file():
        raise ModelConfigError(
            f"backbone weights {weights} not found; download them or unset backbone_weights"
        )
    try:
        state = load_state_dict(str(weights))
    except Exception as exc:
        raise ModelConfigError(f"backbone weights {weights} could not be read ({exc})") from exc
    # the tensors the backbone needs (those named as in the full model; timm renames a few flattened ones)
    named = set(timm.create_model(name, pretrained=False).state_dict())
    body = timm.create_model(name, pretrained=False, features_only=True, out_indices=indices)
    expected = [k for k in body.state_dict() if k in named]
    missing = [k for k in expected if k not in state]
    if missing:
        raise ModelConfigError(
            f"backbone weights {weights} do not match {name}: {len(missing)} of {len(expected)} tensors "
            f"missing (e.g. {missing[0]})"
        )
    try:
        return timm.create_model(
            name,
            pretrained=True,
            features_only=True,
            out_indices=indices,
            pretrained_cfg_overlay={"state_dict": state},
        )
    except RuntimeError as exc:  # tensor shapes differ
        raise ModelConfigError(f"backbone weights {weights} do not match {name}: {exc}") from exc


class AudioEncoder(nn.Module):
    """log-mel (B, n_mels, T) -> tokens (B, K, D): a small CNN, then pooling over frequency and time."""

    def __init__(self, dim: int, tokens: int, n_mels: int):
        super().__init__()
        self.net = nn.Sequential(_conv(1, 16, 2), _conv(16, 32, 2), _conv(32, 32, 2))
        bands = (n_mels + 7) // 8
        # frequency bands become channels (pitch is what tells sounds apart, so it is not pooled away)
        self.proj = nn.Sequential(nn.Linear(32 * bands, dim), nn.ReLU(inplace=True), nn.Linear(dim, dim))
        self.tokens = tokens

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        x = mel.unsqueeze(1)
        x = (x - x.mean(dim=(2, 3), keepdim=True)) / (x.std(dim=(2, 3), keepdim=True) + 1e-5)
        x = self.net(x)  # (B, C, F', T')
        x = F.adaptive_avg_pool1d(x.flatten(1, 2), self.tokens).transpose(1, 2)  # (B, K, C*F')
        return self.proj(x)


class AudioVisualFusion(nn.Module):
    """FiLM from the global audio vector, then pixels attend to the audio tokens (TPAVI-style), residual."""

    def __init__(self, channels: int, audio_dim: int, heads: int):
        super().__init__()
        self.film = nn.Linear(audio_dim, 2 * channels)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.query = nn.Conv2d(channels, channels, 1)
        self.key_value = nn.Linear(audio_dim, channels)
        self.attn = nn.MultiheadAttention(channels, heads if channels % heads == 0 else 1, batch_first=True)
        self.gate = nn.Conv2d(channels, channels, 1)
        self.norm = nn.GroupNorm(min(8, channels), channels)

    def forward(self, v: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        b, c, h, w = v.shape
        gamma, beta = self.film(tokens.mean(dim=1)).chunk(2, dim=1)
        v = v * (1 + gamma[:, :, None, None]) + beta[:, :, None, None]
        q = self.query(v).flatten(2).transpose(1, 2)  # (B, HW, C)
        kv = self.key_value(tokens)
        out, _ = self.attn(q, kv, kv, need_weights=False)
        out = out.transpose(1, 2).reshape(b, c, h, w)
        return self.norm(v + self.gate(out * v))


class StudentNet(nn.Module):
    def __init__(self, config: StudentConfig):
        super().__init__()
        self.config = config
        if config.backbone == "tiny":
            self.encoder: nn.Module = TinyEncoder(config.width)
        else:
            self.encoder = TimmEncoder(config.backbone, config.backbone_weights)
        chans = self.encoder.channels
        self.audio = AudioEncoder(config.audio_dim, config.audio_tokens, config.n_mels)
        self.fusions = nn.ModuleList(AudioVisualFusion(c, config.audio_dim, config.heads) for c in chans)
        d = config.decoder_channels
        self.laterals = nn.ModuleList(nn.Conv2d(c, d, 1) for c in chans)
        self.smooth = nn.ModuleList(_conv(d, d) for _ in chans)
        self.head = _conv(d, d)
        self.pixel_embed = nn.Conv2d(d, d, 1)
        self.mask_query = nn.Sequential(
            nn.Linear(config.audio_dim, d), nn.ReLU(inplace=True), nn.Linear(d, d)
        )
        self.bias = nn.Parameter(torch.zeros(1))
        # which sound class is heard (trained with an auxiliary loss when the data names classes)
        self.audio_head = nn.Linear(config.audio_dim, config.audio_classes) if config.audio_classes else None
        self.register_buffer("mean", torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGE_STD).view(1, 3, 1, 1), persistent=False)

    def forward(
        self, images: torch.Tensor, mels: torch.Tensor, with_audio_logits: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """images: (B, 3, H, W) float in [0, 1]; mels: (B, n_mels, T) dB -> logits (B, 1, H, W);
        with ``with_audio_logits`` also the sound-class logits (B, audio_classes) (None without a head)."""
        x = (images - self.mean) / self.std
        tokens = self.audio(mels)
        feats = [fuse(f, tokens) for fuse, f in zip(self.fusions, self.encoder(x))]
        p = None
        for i in reversed(range(len(feats))):
            lat = self.laterals[i](feats[i])
            if p is not None:
                lat = lat + F.interpolate(p, size=lat.shape[-2:], mode="bilinear", align_corners=False)
            p = self.smooth[i](lat)
        # AVSegFormer-style mask head: the audio makes a query, each pixel's score is its dot product with it.
        emb = self.pixel_embed(self.head(p))
        query = self.mask_query(tokens.mean(dim=1))
        logits = torch.einsum("bchw,bc->bhw", emb, query).unsqueeze(1) / emb.shape[1] ** 0.5 + self.bias
        out = F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)
        if not with_audio_logits:
            return out
        heard = self.audio_head(tokens.mean(dim=1)) if self.audio_head is not None else None
        return out, heard


def build_model(config: StudentConfig) -> StudentNet:
    return StudentNet(config)


def segmentation_loss(
    logits: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, denominator: float | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Weighted BCE + Dice. Per-sample losses are multiplied by ``weight`` and divided by ``denominator``
    (default: the batch size), so equal shards of one global batch add up to the global-batch loss.
    Returns (loss, bce part, dice part)."""
    n = float(denominator if denominator is not None else logits.shape[0])
    t = target.to(logits.dtype)
    bce = F.binary_cross_entropy_with_logits(logits, t, reduction="none").flatten(1).mean(1)
    p = torch.sigmoid(logits).flatten(1)
    tf = t.flatten(1)
    dice = 1 - (2 * (p * tf).sum(1) + 1) / (p.sum(1) + tf.sum(1) + 1)
    bce_w = (weight * bce).sum() / n
    dice_w = (weight * dice).sum() / n
    return bce_w + dice_w, bce_w, dice_w


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
