"""Particles: pretrained weights load completely or fail loudly, in this network's and torchvision's layouts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torch import nn

from fingerprintml.particles.model import ParticleNet, WeightsError, load_initial_weights
from fingerprintml.particles.train import TrainSettings, train_model
from tests.unit.test_particles_model import CONFIG, toy_arrays


class TorchvisionBlock(nn.Module):
    """torchvision's ResNet BasicBlock, with its attribute names (conv1, bn1, conv2, bn2, downsample)."""

    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.downsample = (
            nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out))
            if stride != 1 or channels_in != channels_out
            else None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class TorchvisionResNet18(nn.Module):
    """A ResNet-18 laid out as torchvision.models.resnet18 (3 input channels, ImageNet fc), written from its key
    names so the test does not depend on torchvision."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        channels = 64
        for stage, out in enumerate([64, 128, 256, 512], start=1):
            stride = 1 if stage == 1 else 2
            setattr(
                self,
                f"layer{stage}",
                nn.Sequential(TorchvisionBlock(channels, out, stride), TorchvisionBlock(out, out, 1)),
            )
            channels = out
        self.fc = nn.Linear(512, 1000)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        for stage in range(1, 5):
            x = getattr(self, f"layer{stage}")(x)
        return torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1)


def imagenet_like_state() -> dict[str, torch.Tensor]:
    """A torchvision-layout state dict with non-trivial batch-norm statistics."""
    torch.manual_seed(3)
    reference = TorchvisionResNet18()
    for module in reference.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.2, 0.2)
            module.running_var.uniform_(0.5, 1.5)
            module.weight.data.uniform_(0.5, 1.5)
    return reference.state_dict()


def test_a_torchvision_resnet18_loads_into_the_image_branch_with_the_same_features() -> None:
    state = imagenet_like_state()
    reference = TorchvisionResNet18()
    reference.load_state_dict(state)
    model = ParticleNet(n_metadata=34, n_classes=3, width=64)
    fresh = load_initial_weights(model, state, "resnet18.pth")
    # only the replaced 64-d layer and the heads start fresh
    assert {key.split(".")[0] for key in fresh} <= {"image", "image_head", "metadata", "classifier"}
    assert all(not key.startswith("image.") or key.startswith("image.fc.") for key in fresh)
    assert torch.equal(model.image.stem[0].weight, state["conv1.weight"].sum(dim=1, keepdim=True))
    # a grey image through the RGB network (three equal channels) = the same image through the grey branch
    reference.eval()
    model.eval()
    grey = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        expected = reference.features(grey.expand(-1, 3, -1, -1))
        ours = torch.flatten(nn.functional.adaptive_avg_pool2d(model.image.stages(model.image.stem(grey)), 1), 1)
    torch.testing.assert_close(ours, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (lambda state: state.pop("layer3.1.bn2.running_var"), "missing: image.stages.5.bn2.running_var"),
        (lambda state: state.update({"layer5.0.conv1.weight": torch.zeros(1)}), "unexpected: layer5.0.conv1.weight"),
    ],
)
def test_a_backbone_key_missing_or_unexpected_is_an_error_naming_it(edit, named: str) -> None:
    state = imagenet_like_state()
    edit(state)
    with pytest.raises(WeightsError, match=re.escape(named)):
        load_initial_weights(ParticleNet(34, 3, width=64), state, "resnet18.pth")


def test_weights_for_another_width_or_of_no_known_layout_are_refused() -> None:
    with pytest.raises(WeightsError, match=r"model\.width 64"):
        load_initial_weights(ParticleNet(34, 3, width=8), imagenet_like_state(), "resnet18.pth")
    with pytest.raises(WeightsError, match=r"vit\.pth: not a state dict"):
        load_initial_weights(ParticleNet(34, 3, width=8), {"blocks.0.attn.qkv.weight": torch.zeros(3)}, "vit.pth")


def test_a_saved_model_of_another_class_count_starts_training_with_its_backbone(tmp_path: Path) -> None:
    source = ParticleNet(34, 5, width=4)
    torch.save({"model": source.state_dict()}, tmp_path / "start.pt")
    settings = TrainSettings.from_config(
        {**CONFIG, "epochs": 1},
        width=4,
        use_metadata=True,
        device=torch.device("cpu"),
        seed=5,
        initial_weights=str(tmp_path / "start.pt"),
    )
    model = ParticleNet(34, 2, width=4)
    fresh = load_initial_weights(model, source.state_dict(), "start.pt")
    assert fresh == ["classifier.4.bias", "classifier.4.weight"]
    assert torch.equal(model.image.stem[0].weight, source.image.stem[0].weight)
    trained, history = train_model(
        toy_arrays(32, 1),
        toy_arrays(16, 2),
        settings,
        n_classes=2,
        checkpoint=tmp_path / "c.pt",
        device=torch.device("cpu"),
    )
    assert len(history) == 1 and trained.classifier[4].out_features == 2
