"""Pretrained student backbones through the model manager: the registry's timm (Hub) and torchvision
entries, loaded by timm's own pretrained-weights path from a random-weight file saved where a download
would leave it; backbone "auto" is that backbone when its weights are cached, else tiny."""

import pytest
import timm
import torch
import torchvision
from safetensors.torch import save_file

from avs_studio.jobs.train import prepare_options, resolve_backbone, resolve_backbone_weights
from avs_studio.openavs import weights
from avs_studio.training.model import ModelConfigError, StudentConfig, TimmEncoder, build_model
from avs_studio.training.settings import DEFAULTS


def test_registry_lists_backbones_with_one_entry_file():
    spec = weights.load_registry()["resnet18-imagenet"]
    assert spec.kind == "backbone"
    assert spec.entry == spec.files[0].path and spec.files[0].url.endswith(spec.entry)
    hub = weights.load_registry()[DEFAULTS.pretrained]
    assert (hub.kind, hub.family, hub.source) == ("backbone", "timm", "hf")
    assert hub.repo == "timm/resnet18.a1_in1k" and hub.entry == "model.safetensors"
    assert hub.extra["architecture"] == "resnet18" and len(hub.revision) == 40  # a pinned commit
    assert hub.files[0].sha256 and hub.files[0].size == 46807446


def test_torchvision_resnet18_weights_load_into_the_encoder(tmp_path):
    torch.manual_seed(0)
    state = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18-f37072fd.pth"
    torch.save(state, path)
    encoder = TimmEncoder("resnet18", resolve_backbone_weights(str(path)))
    loaded = encoder.body.state_dict()
    for name in ("conv1.weight", "layer1.0.conv1.weight", "layer3.1.bn2.running_mean"):
        assert torch.equal(loaded[name], state[name]), name


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AVS_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("AVS_STUDIO_OFFLINE", "1")  # "auto" never downloads; nothing here may try
    monkeypatch.delenv("AVS_STUDIO_MODELS", raising=False)
    return tmp_path / "cache"


def _unverified_copy(tmp_path, monkeypatch) -> weights.ModelSpec:
    """The shipped backbone entry without its checksum and size, as a registry of its own: a random-weight
    file can then stand in for the download and go through the same resolution and loading."""
    spec = weights.get_spec(DEFAULTS.pretrained)
    registry = tmp_path / "models.toml"
    registry.write_text(
        f"""[models.{spec.name}]
kind = "{spec.kind}"
family = "{spec.family}"
architecture = "{spec.extra["architecture"]}"
source = "{spec.source}"
repo = "{spec.repo}"
revision = "{spec.revision}"
entry = "{spec.entry}"
size_mb = {spec.size_mb}
vram_mb = {spec.vram_mb}
license = "{spec.license}"
description = "{spec.description}"
files = [{{ path = "{spec.entry}" }}]
"""
    )
    monkeypatch.setenv("AVS_STUDIO_MODELS", str(registry))
    return weights.get_spec(spec.name)


def _random_download(spec: weights.ModelSpec, seed: int = 7) -> tuple[dict, object]:
    """A Hub timm file (the whole classifier model, random weights) where a download would leave it."""
    target = weights.model_dir(spec) / spec.entry
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    source = timm.create_model(spec.extra["architecture"]).state_dict()
    save_file(source, str(target))
    return source, target


def test_auto_backbone_is_tiny_until_the_hub_weights_are_cached(cache, tmp_path, monkeypatch):
    chosen = resolve_backbone(None, None, None)
    assert (chosen.name, chosen.weights) == ("tiny", None)
    assert f"avs-studio models download {DEFAULTS.pretrained}" in chosen.note
    # a file that is not the registered one (wrong size) does not count as cached
    _random_download(weights.get_spec(DEFAULTS.pretrained))
    assert resolve_backbone(None, None, None).name == "tiny"

    spec = _unverified_copy(tmp_path, monkeypatch)
    source, target = _random_download(spec)
    options, note = prepare_options({"image_size": 64})
    assert options == {"image_size": 64, "backbone": "resnet18", "backbone_weights": str(target)}
    assert note == f"auto: resnet18 with {DEFAULTS.pretrained}"
    model = build_model(StudentConfig(backbone="resnet18", backbone_weights=str(target), image_size=32))
    loaded = model.encoder.body.state_dict()
    assert all(torch.equal(loaded[k], source[k]) for k in loaded)
    assert model(torch.rand(1, 3, 32, 32), torch.randn(1, 64, 100)).shape == (1, 1, 32, 32)
    # an explicit choice is kept; a resumed run keeps its own backbone
    assert resolve_backbone("tiny", None, None).name == "tiny"
    assert prepare_options({"backbone": "auto"}, resume=True)[0] == {"backbone": "auto"}


def test_weights_of_another_architecture_are_refused_by_name(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file(timm.create_model("efficientnet_b0").state_dict(), str(path))
    with pytest.raises(ModelConfigError, match=r"model.safetensors do not match resnet18: \d+ of \d+ tensors"):
        TimmEncoder("resnet18", str(path))
    path.write_bytes(b"not a safetensors file")
    with pytest.raises(ModelConfigError, match="could not be read"):
        TimmEncoder("resnet18", str(path))


def test_a_pretrained_backbone_learns_at_a_lower_rate(tmp_path):
    from avs_studio.training.checkpoint import load_checkpoint
    from avs_studio.training.loop import LoopOptions, fit
    from tests.unit.training.toy import toy_samples

    path = tmp_path / "model.safetensors"
    save_file(timm.create_model("resnet18").state_dict(), str(path))
    cfg = StudentConfig(backbone="resnet18", backbone_weights=str(path), image_size=32, audio_frames=20,
                        decoder_channels=16, audio_dim=16, heads=2)  # fmt: skip
    fit(cfg, toy_samples(8), None, LoopOptions(steps=1, batch_size=8, lr=0.01), tmp_path / "run", lambda e: None)
    groups = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["optimizer"]["param_groups"]
    assert [g["initial_lr"] for g in groups] == pytest.approx([0.01 * DEFAULTS.backbone_lr, 0.01])
