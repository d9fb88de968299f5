"""1D RegNet embedding network and the AdaCos head (Zhang et al., CVPR 2019) with its adaptive scale.

RegNet (Radosavovic et al., CVPR 2020) in one dimension, as XRDidentifier uses it: a strided stem convolution,
stages of X-blocks (1x1 conv, grouped 3-wide conv, squeeze-excitation, 1x1 conv, residual), global average pooling
and a linear embedding.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, reduced: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv1d(channels, reduced, 1)
        self.excite = nn.Conv1d(reduced, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = functional.adaptive_avg_pool1d(x, 1)
        return x * torch.sigmoid(self.excite(functional.relu(self.squeeze(scale))))


class XBlock(nn.Module):
    """RegNet Y-block: bottleneck with a grouped convolution and squeeze-excitation, residual connection."""

    def __init__(self, c_in: int, c_out: int, stride: int, group_width: int, se_ratio: float) -> None:
        super().__init__()
        groups = max(1, c_out // group_width)
        self.body = nn.Sequential(
            nn.Conv1d(c_in, c_out, 1, bias=False),
            nn.BatchNorm1d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv1d(c_out, c_out, 3, stride=stride, padding=1, groups=groups, bias=False),
            nn.BatchNorm1d(c_out),
            nn.ReLU(inplace=True),
            SqueezeExcitation(c_out, max(1, int(c_in * se_ratio))),
            nn.Conv1d(c_out, c_out, 1, bias=False),
            nn.BatchNorm1d(c_out),
        )
        self.shortcut = (
            nn.Identity()
            if stride == 1 and c_in == c_out
            else nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return functional.relu(self.body(x) + self.shortcut(x))


class RegNet1D(nn.Module):
    """Pattern (N, L) -> embedding (N, embedding)."""

    def __init__(
        self,
        *,
        stem_width: int,
        stem_kernel: int,
        stem_stride: int,
        widths: list[int],
        depths: list[int],
        group_width: int,
        se_ratio: float,
        embedding: int,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [
            nn.Conv1d(1, stem_width, stem_kernel, stride=stem_stride, padding=stem_kernel // 2, bias=False),
            nn.BatchNorm1d(stem_width),
            nn.ReLU(inplace=True),
        ]
        c_in = stem_width
        for width, depth in zip(widths, depths, strict=True):
            for block in range(depth):
                layers.append(XBlock(c_in, width, 2 if block == 0 else 1, group_width, se_ratio))
                c_in = width
        self.features = nn.Sequential(*layers)
        self.embed = nn.Linear(c_in, embedding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pooled = functional.adaptive_avg_pool1d(self.features(x.unsqueeze(1)), 1).flatten(1)
        return self.embed(pooled)


class AdaCos(nn.Module):
    """Cosine-softmax head whose scale s is set from the batch (AdaCos): s = log(B_avg) / cos(min(pi/4, theta_med)),
    B_avg the batch mean of sum over non-target classes of exp(s cos theta), theta_med the median target angle."""

    def __init__(self, embedding: int, n_classes: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_classes, embedding))
        nn.init.xavier_uniform_(self.weight)
        self.register_buffer("scale", torch.tensor(math.sqrt(2) * math.log(max(n_classes - 1, 2))))

    def cosine(self, embedding: torch.Tensor) -> torch.Tensor:
        return functional.normalize(embedding) @ functional.normalize(self.weight).T

    def forward(self, embedding: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Logits s * cos theta; with labels in training mode the scale is updated first."""
        cosine = self.cosine(embedding)
        if labels is not None and self.training:
            with torch.no_grad():
                target = functional.one_hot(labels, cosine.shape[1]).bool()
                theta = torch.acos(cosine.clamp(-1 + 1e-7, 1 - 1e-7))
                b_avg = torch.where(target, torch.zeros_like(cosine), torch.exp(self.scale * cosine)).sum(1).mean()
                theta_median = theta[target].median()
                self.scale = torch.log(b_avg) / torch.cos(torch.clamp(theta_median, max=math.pi / 4))
        return self.scale * cosine


class Identifier(nn.Module):
    """Embedding network plus AdaCos head."""

    def __init__(self, n_classes: int, **architecture) -> None:
        super().__init__()
        self.backbone = RegNet1D(**architecture)
        self.head = AdaCos(architecture["embedding"], n_classes)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        return self.head(self.backbone(x), labels)
