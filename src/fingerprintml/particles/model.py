"""The ICELEARNING network in plain torch: a ResNet-18 image branch, a metadata MLP, and their classifier.

ResNet-18 (He et al. 2016: BasicBlock, [2, 2, 2, 2] blocks) takes one grey channel; ``width`` is the
channel count of its first stage (64 in the original; a small width keeps the demo fast). Its pooled
features go to a 64-d embedding (batch norm, ReLU, dropout 0.2), the 34 standardised metadata columns
through 128 -> 64 -> 32 (batch norm, ReLU, dropout 0.5), both concatenated (96) and classified
96 -> 40 -> classes. ``use_metadata=False`` gives the image-only ablation (64 -> 40 -> classes).
"""

from __future__ import annotations

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
