"""The metadata-only gradient boosting baseline on simulated metadata: it learns what the metadata says, and
without metadata it falls back to the training class frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from fingerprintml.particles.baseline import metadata_gbm
from fingerprintml.particles.data import Arrays

CLASSES = ["junk", "missed", "protist"]


def part(rng: np.random.Generator, n: int, columns: int, name: str) -> Arrays:
    """Particles of three classes (frequencies 0.6, 0.1, 0.3) whose first metadata column is class mean + noise."""
    labels = rng.choice(3, size=n, p=[0.6, 0.1, 0.3])
    metadata = rng.standard_normal((n, columns))
    if columns:
        metadata[:, 0] += 3.0 * labels
    return Arrays(
        np.zeros((n, 1, 1), np.uint8),
        metadata.astype(np.float32),
        labels,
        np.array([f"{name}_{i}.png" for i in range(n)]),
    )


def test_boosting_learns_the_metadata_and_reports_like_the_network():
    rng = np.random.default_rng(0)
    arrays = {name: part(rng, n, 4, name) for name, n in (("train", 900), ("val", 300), ("test", 300))}
    evaluation, validation = metadata_gbm(arrays, CLASSES, seed=1)
    table = evaluation.predictions
    assert list(table.columns) == ["path", "class", "prediction", "p_junk", "p_missed", "p_protist"]
    assert list(validation["path"]) == list(arrays["val"].paths)
    # Classes 3 standard deviations apart: about 93 % of particles on the right side of both boundaries.
    assert (table["class"] == table["prediction"]).mean() > 0.85
    assert evaluation.per_class["recall"].min() > 0.7 and (evaluation.per_class["run"] == "gbm_metadata").all()
    assert evaluation.confusion[CLASSES].to_numpy().sum() == 300


def test_without_metadata_the_baseline_is_the_training_prior():
    rng = np.random.default_rng(2)
    arrays = {name: part(rng, n, 0, name) for name, n in (("train", 600), ("val", 100), ("test", 100))}
    evaluation, validation = metadata_gbm(arrays, CLASSES, seed=1)
    prior = np.bincount(arrays["train"].labels, minlength=3) / 600
    probabilities = evaluation.predictions[["p_junk", "p_missed", "p_protist"]].to_numpy()
    assert probabilities == pytest.approx(np.tile(prior, (100, 1)))
    assert set(evaluation.predictions["prediction"]) == {"junk"} and len(validation) == 100
