"""The student network: shapes, the audio path matters, weighted loss, timm backbones and their weights."""

import pytest
import torch

from avs_studio.training.model import ModelConfigError, StudentConfig, build_model, segmentation_loss
from tests.unit.training.toy import tiny_config


def test_forward_shape_and_audio_changes_the_mask():
    torch.manual_seed(0)
    model = build_model(tiny_config()).eval()
    x = torch.rand(2, 3, 32, 32)
    a = torch.randn(2, 64, 20)
    with torch.no_grad():
        out = model(x, a)
        other = model(x, a.flip(0) * 3 + 5)
    assert out.shape == (2, 1, 32, 32) and torch.isfinite(out).all()
    assert (out - other).abs().max() > 1e-3  # the prediction depends on the audio


def test_audio_gradients_reach_the_audio_encoder():
    model = build_model(tiny_config())
    loss, _, _ = segmentation_loss(
        model(torch.rand(2, 3, 32, 32), torch.randn(2, 64, 20)), torch.ones(2, 1, 32, 32), torch.ones(2)
    )
    loss.backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.audio.parameters())


def test_loss_weights_and_shards():
    logits = torch.randn(4, 1, 8, 8)
    target = (torch.rand(4, 1, 8, 8) > 0.5).float()
    full, bce, dice = segmentation_loss(logits, target, torch.ones(4))
    assert torch.isclose(full, bce + dice)
    zero_first, _, _ = segmentation_loss(logits, target, torch.tensor([0.0, 1, 1, 1]))
    rest, _, _ = segmentation_loss(logits[1:], target[1:], torch.ones(3), denominator=4)
    assert torch.isclose(zero_first, rest)
    halves = [segmentation_loss(logits[i::2], target[i::2], torch.ones(2), denominator=2)[0] for i in (0, 1)]
    assert torch.isclose((halves[0] + halves[1]) / 2, full)
    perfect, _, d = segmentation_loss(target * 40 - 20, target, torch.ones(4))
    assert perfect < 0.01 and d < 0.01


def test_timm_backbone_loads_local_weights_through_the_real_path(tmp_path):
    cfg = StudentConfig(
        backbone="resnet18", image_size=32, decoder_channels=16, audio_dim=16, heads=2, audio_frames=20
    )
    torch.manual_seed(1)
    source = build_model(cfg)
    weights = tmp_path / "resnet18.pth"
    torch.save(source.encoder.body.state_dict(), weights)
    torch.manual_seed(2)
    loaded = build_model(StudentConfig(**{**cfg.to_dict(), "backbone_weights": str(weights)}))
    a, b = source.encoder.body.state_dict(), loaded.encoder.body.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert loaded(torch.rand(2, 3, 32, 32), torch.randn(2, 64, 20)).shape == (2, 1, 32, 32)


def test_bad_backbone_settings_are_named():
    with pytest.raises(ModelConfigError, match="no-such-net"):
        build_model(StudentConfig(backbone="no-such-net"))
    with pytest.raises(ModelConfigError, match="missing.pth.*not found"):
        build_model(StudentConfig(backbone="resnet18", backbone_weights="/nowhere/missing.pth"))
    with pytest.raises(ModelConfigError, match="colour"):
        StudentConfig.from_dict({"colour": 1})
