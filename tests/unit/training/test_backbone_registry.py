"""The registry's student backbone weights (torchvision files) load into the student's timm encoder."""

import torch
import torchvision

from avs_studio.jobs.train import resolve_backbone_weights
from avs_studio.openavs import weights
from avs_studio.training.model import TimmEncoder


def test_registry_lists_a_backbone_with_one_entry_file():
    spec = weights.load_registry()["resnet18-imagenet"]
    assert spec.kind == "backbone"
    assert spec.entry == spec.files[0].path and spec.files[0].url.endswith(spec.entry)


def test_torchvision_resnet18_weights_load_into_the_encoder(tmp_path):
    torch.manual_seed(0)
    state = torchvision.models.resnet18().state_dict()
    path = tmp_path / "resnet18-f37072fd.pth"
    torch.save(state, path)
    encoder = TimmEncoder("resnet18", resolve_backbone_weights(str(path)))
    loaded = encoder.body.state_dict()
    for name in ("conv1.weight", "layer1.0.conv1.weight", "layer3.1.bn2.running_mean"):
        assert torch.equal(loaded[name], state[name]), name
