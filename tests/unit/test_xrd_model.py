"""1D RegNet shapes and the AdaCos head: the scale adapts to the batch, and a few steps learn separable classes."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fingerprintml.xrd.evaluate import class_prototypes, prototype_scores, top_k_accuracy
from fingerprintml.xrd.model import AdaCos, Identifier
from fingerprintml.xrd.splits import held_out_phases, structure_split_classes

ARCH = {"stem_width": 8, "stem_kernel": 9, "stem_stride": 4, "widths": [8, 16], "depths": [1, 2],
        "group_width": 4, "se_ratio": 0.25, "embedding": 16}  # fmt: skip


def test_regnet_maps_patterns_to_embeddings_of_any_length() -> None:
    model = Identifier(5, **ARCH)
    for length in (401, 801):
        assert model.backbone(torch.rand(3, length)).shape == (3, 16)
    assert model(torch.rand(3, 401)).shape == (3, 5)


def test_adacos_scale_starts_at_its_fixed_value_and_adapts_in_training() -> None:
    torch.manual_seed(0)
    head = AdaCos(16, 10)
    assert float(head.scale) == pytest.approx(math.sqrt(2) * math.log(9))
    embedding, labels = torch.randn(32, 16), torch.randint(0, 10, (32,))
    head.eval()
    head(embedding, labels)
    assert float(head.scale) == pytest.approx(math.sqrt(2) * math.log(9))  # frozen outside training
    head.train()
    head(embedding, labels)
    cosine = head.cosine(embedding)
    previous = math.sqrt(2) * math.log(9)
    target = torch.nn.functional.one_hot(labels, 10).bool()
    b_avg = torch.exp(previous * cosine[~target].reshape(32, 9)).sum(1).mean()
    theta_median = torch.acos(cosine[target]).median()
    expected = math.log(float(b_avg)) / math.cos(min(math.pi / 4, float(theta_median)))
    assert float(head.scale) == pytest.approx(expected, rel=1e-5)
    assert float(head.scale) != pytest.approx(previous, rel=1e-3)


def test_identifier_learns_peak_spacing_classes() -> None:
    """Classes differ by the spacing of two peaks (a d-spacing ratio) placed anywhere: what the pooled embedding
    must capture."""
    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    x_axis = np.arange(200)
    spacings = np.array([8, 16, 24, 32])

    def batch(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        labels = rng.integers(0, len(spacings), n)
        first = rng.uniform(20, 130, n)[:, None]
        second = first + spacings[labels][:, None]
        x = np.exp(-0.5 * ((x_axis - first) / 1.5) ** 2) + np.exp(-0.5 * ((x_axis - second) / 1.5) ** 2)
        return torch.as_tensor(x + 0.05 * rng.random(x.shape), dtype=torch.float32), torch.as_tensor(labels)

    model = Identifier(len(spacings), **ARCH)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        x, y = batch(32)
        loss = torch.nn.functional.cross_entropy(model(x, y), y)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()
    x, y = batch(100)
    with torch.no_grad():
        scores = model.head.cosine(model.backbone(x)).numpy()
        embedding = torch.nn.functional.normalize(model.backbone(x)).numpy()
    assert top_k_accuracy(scores, y.numpy(), 1) > 0.9
    prototypes = class_prototypes(embedding, y.numpy(), len(spacings))
    assert top_k_accuracy(prototype_scores(embedding, prototypes), y.numpy(), 1) > 0.9


def test_top_k_accuracy_counts_ranks() -> None:
    scores = np.array([[0.9, 0.5, 0.1], [0.2, 0.3, 0.8], [0.6, 0.7, 0.1]])
    labels = np.array([0, 0, 0])
    assert top_k_accuracy(scores, labels, 1) == pytest.approx(1 / 3)
    assert top_k_accuracy(scores, labels, 2) == pytest.approx(2 / 3)


def test_structure_split_holds_out_a_seeded_fraction_of_phases() -> None:
    trained = structure_split_classes(100, "structure", 0.2, 7)
    held_out = held_out_phases(100, 0.2, 7)
    assert len(held_out) == 20 and not set(trained) & set(held_out)
    assert sorted([*trained, *held_out]) == list(range(100))
    assert np.array_equal(structure_split_classes(100, "copy", 0.2, 7), np.arange(100))
