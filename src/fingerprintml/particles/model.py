"""The ICELEARNING network in plain torch: a ResNet-18 image branch, a metadata MLP, and their classifier.

ResNet-18 (He et al. 2016: BasicBlock, [2, 2, 2, 2] blocks) takes one grey channel; ``width`` is the
channel count of its first stage (64 in the original; a small width keeps the demo fast). Its pooled
features go to a 64-d embedding (batch norm, ReLU, dropout 0.2), the 34 standardised metadata columns
through 128 -> 64 -> 32 (batch norm, ReLU, dropout 0.5), both concatenated (96) and classified
96 -> 40 -> classes. ``use_metadata=False`` gives the image-only ablation (64 -> 40 -> classes).

Training may start from pretrained weights (:func:`load_initial_weights`): a saved model of this network, or a
torchvision/timm ResNet-18 state dict (ImageNet weights, as the original fine-tuned).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch
from torch import nn

EMBEDDING = 64


class BasicBlock(nn.Module):
    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.shortcut = (
            nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride, bias=False), nn.BatchNorm2d(channels_out))
            if stride != 1 or channels_in != channels_out
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


class ResNet18(nn.Module):
    """ResNet-18 on one input channel, ending in a ``EMBEDDING``-d linear layer (the original's replaced fc)."""

    def __init__(self, width: int = 64, embedding: int = EMBEDDING) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(1, width, 7, 2, 3, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(3, 2, 1),
        )
        stages = []
        channels = width
        for stage, blocks in enumerate([2, 2, 2, 2]):
            out = width * 2**stage
            for block in range(blocks):
                stages.append(BasicBlock(channels, out, 2 if stage > 0 and block == 0 else 1))
                channels = out
        self.stages = nn.Sequential(*stages)
        self.fc = nn.Linear(channels, embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stages(self.stem(x))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(x, 1), 1))


class ParticleNet(nn.Module):
    """Image branch + optional metadata branch + classifier; ``forward`` returns (logits, 64-d embedding)."""

    def __init__(self, n_metadata: int, n_classes: int, width: int = 64, use_metadata: bool = True) -> None:
        super().__init__()
        self.width = width
        self.use_metadata = use_metadata
        self.image = ResNet18(width)
        self.image_head = nn.Sequential(nn.BatchNorm1d(EMBEDDING), nn.ReLU(), nn.Dropout(0.2))
        self.metadata = (
            nn.Sequential(
                nn.Linear(n_metadata, 128),
                nn.BatchNorm1d(128),
                nn.ReLU(),
                nn.Dropout(0.5),
                nn.Linear(128, 64),
                nn.BatchNorm1d(64),
                nn.ReLU(),
                nn.Dropout(0.5),
                nn.Linear(64, 32),
            )
            if use_metadata
            else None
        )
        joined = EMBEDDING + (32 if use_metadata else 0)
        self.classifier = nn.Sequential(
            nn.Linear(joined, 40), nn.BatchNorm1d(40), nn.ReLU(), nn.Dropout(0.2), nn.Linear(40, n_classes)
        )

    def forward(self, images: torch.Tensor, metadata: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        embedding = self.image(images)
        features = self.image_head(embedding)
        if self.metadata is not None:
            features = torch.cat([features, self.metadata(metadata)], dim=1)
        return self.classifier(features), embedding


def build_model(settings: Mapping, n_metadata: int, n_classes: int) -> ParticleNet:
    """The network of a settings mapping (``width``, ``use_metadata``; a saved model's or training's)."""
    return ParticleNet(n_metadata, n_classes, int(settings["width"]), bool(settings.get("use_metadata", True)))


class WeightsError(ValueError):
    """Initial weights that do not fit the network: the message names the file and the keys."""


# torchvision/timm ResNet-18 names -> this network's image branch (stages are numbered block by block).
_TORCHVISION_BLOCK = re.compile(r"^layer([1-4])\.([01])\.(.+)$")
_TORCHVISION_STEM = {"conv1.": "image.stem.0.", "bn1.": "image.stem.1."}


def _torchvision_name(key: str) -> str | None:
    """This network's name of a torchvision/timm ResNet-18 key; None for the ImageNet classifier ``fc``."""
    if key.startswith("fc."):
        return None
    for prefix, ours in _TORCHVISION_STEM.items():
        if key.startswith(prefix):
            return ours + key[len(prefix) :]
    if match := _TORCHVISION_BLOCK.match(key):
        stage, block, rest = int(match[1]), int(match[2]), match[3]
        rest = rest.replace("downsample.", "shortcut.")
        return f"image.stages.{2 * (stage - 1) + block}.{rest}"
    return key  # not a ResNet-18 key: reported as unexpected


def load_initial_weights(model: ParticleNet, state: Mapping[str, torch.Tensor], source: str) -> list[str]:
    """Load pretrained weights into ``model``; return the names left at their initial values.

    Parameters
    ----------
    model
        The network to start training from.
    state
        A state dict of this network (a saved model's ``model`` entry) or of a torchvision/timm ResNet-18
        (``conv1.*``, ``layer1.*`` ...; its first convolution summed over RGB to one grey channel, its ImageNet
        ``fc`` dropped, so the 64-d embedding layer starts fresh as in the original).
    source
        The weights file, named in errors.

    The image branch must load completely: a missing, unexpected or misshapen backbone tensor is a
    :class:`WeightsError` naming the keys (so pretrained weights never load silently as nothing). The heads load
    where names and shapes match (another class count leaves the last layer fresh).
    """
    state = {key.removeprefix("module."): value for key, value in state.items()}
    if any(key.startswith("image.") for key in state):
        mapped = dict(state)
    elif "conv1.weight" in state and "layer1.0.conv1.weight" in state:
        mapped = {name: value for key, value in state.items() if (name := _torchvision_name(key)) is not None}
        stem = mapped["image.stem.0.weight"]
        if stem.ndim == 4 and stem.shape[1] == 3:
            mapped["image.stem.0.weight"] = stem.sum(dim=1, keepdim=True)
    else:
        raise WeightsError(
            f"{source}: not a state dict of this network nor of a torchvision/timm ResNet-18 "
            f"(first keys: {', '.join(list(state)[:5]) or 'none'})"
        )
    own = model.state_dict()
    backbone = {key for key in own if key.startswith("image.") and not key.startswith("image.fc.")}
    missing = sorted(backbone - set(mapped))
    unexpected = sorted(key for key in mapped if key not in own)
    if missing or unexpected:
        raise WeightsError(
            f"{source}: the image backbone does not match"
            + (f"; missing: {', '.join(missing[:10])}" + (" ..." if len(missing) > 10 else "") if missing else "")
            + (
                f"; unexpected: {', '.join(unexpected[:10])}" + (" ..." if len(unexpected) > 10 else "")
                if unexpected
                else ""
            )
        )
    misshapen = [
        f"{key} {tuple(mapped[key].shape)} (network: {tuple(own[key].shape)})"
        for key in sorted(backbone)
        if mapped[key].shape != own[key].shape
    ]
    if misshapen:
        raise WeightsError(
            f"{source}: backbone tensors of another shape (ResNet-18 weights need model.width 64): "
            + "; ".join(misshapen[:5])
        )
    loaded = {key: value for key, value in mapped.items() if value.shape == own[key].shape}
    model.load_state_dict({**own, **loaded})
    return sorted(set(own) - set(loaded))
