"""jobs.train helpers: the trainer command line and pretrained backbone weights by file or registry name."""

import sys

import pytest
import torch

from avs_studio.jobs.train import TrainError, resolve_backbone_weights, train_command
from avs_studio.openavs.weights import ModelMissingError

REGISTRY = """
[models.resnet18-test]
kind = "embedder"
family = "timm"
source = "url"
entry = "resnet18.pth"
size_mb = 45
license = "BSD-3-Clause"
description = "test backbone"
files = [{ path = "resnet18.pth", url = "https://example.invalid/resnet18.pth" }]
"""


def test_train_command(tmp_path):
    cmd = train_command(
        tmp_path,
        "st",
        epochs=3,
        device="cpu",
        pseudo_labels=True,
        resume=True,
        database_url="sqlite:///x.db",
        options={"image_size": 64, "lr": None, "backbone": "tiny"},
    )
    assert cmd[:3] == [sys.executable, "-m", "avs_studio.training"]
    joined = " ".join(cmd)
    for part in (
        "--name st",
        "--epochs 3",
        "--device cpu",
        "--pseudo-labels",
        "--resume",
        "--database-url sqlite:///x.db",
        "--image-size 64",
        "--backbone tiny",
    ):
        assert part in joined
    assert "--lr" not in cmd
    ddp = train_command(tmp_path, "st", nproc=2)
    assert ddp[1:4] == ["-m", "torch.distributed.run", "--standalone"] and "--nproc-per-node=2" in ddp
    with pytest.raises(ValueError, match="letters"):
        train_command(tmp_path, "../up")


def test_backbone_weights_by_file_or_registry_name(tmp_path, monkeypatch):
    f = tmp_path / "w.pth"
    torch.save({"x": torch.zeros(1)}, f)
    assert resolve_backbone_weights(str(f)) == str(f)
    assert resolve_backbone_weights(None) is None
    registry = tmp_path / "models.toml"
    registry.write_text(REGISTRY)
    monkeypatch.setenv("AVS_STUDIO_MODELS", str(registry))
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")
    with pytest.raises(TrainError, match="no-such-weights"):
        resolve_backbone_weights("no-such-weights")
    with pytest.raises(ModelMissingError, match="avs-studio models download resnet18-test"):
        resolve_backbone_weights("resnet18-test")


def test_cached_registry_weights_reach_the_model(tmp_path, monkeypatch):
    from avs_studio.training.model import StudentConfig, build_model

    registry = tmp_path / "models.toml"
    registry.write_text(REGISTRY)
    monkeypatch.setenv("AVS_STUDIO_MODELS", str(registry))
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path / "cache"))
    cfg = StudentConfig(backbone="resnet18", image_size=32, decoder_channels=16, audio_dim=16, heads=2)
    torch.manual_seed(3)
    source = build_model(cfg).encoder.body.state_dict()
    target = tmp_path / "cache" / "resnet18-test" / "resnet18.pth"
    target.parent.mkdir(parents=True)
    torch.save(source, target)  # as a download would leave it
    path = resolve_backbone_weights("resnet18-test")
    assert path == str(target)
    torch.manual_seed(4)
    loaded = build_model(
        StudentConfig(**{**cfg.to_dict(), "backbone_weights": path})
    ).encoder.body.state_dict()
    assert all(torch.equal(source[k], loaded[k]) for k in source)
