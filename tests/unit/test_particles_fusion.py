"""Late fusion of two classifiers by log-linear pooling, on simulated classifiers with known noise."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

from fingerprintml.particles.fusion import fuse_predictions

CLASSES = ["a", "b", "c"]


def simulated_predictions(rng: np.random.Generator, truth: np.ndarray, strength: float, part: str) -> pd.DataFrame:
    """A calibrated classifier of scores that are the one-hot truth times ``strength`` plus unit Gaussian noise
    (independent of any other classifier given the class): its posterior under equal priors is the softmax of
    ``strength`` times the scores."""
    scores = strength * np.eye(len(CLASSES))[truth] + rng.normal(size=(len(truth), len(CLASSES)))
    p = np.exp(strength * scores) / np.exp(strength * scores).sum(1, keepdims=True)
    return pd.DataFrame(
        {
            "path": [f"{part}/{i}.png" for i in range(len(truth))],
            "class": [CLASSES[t] for t in truth],
            "prediction": [CLASSES[i] for i in p.argmax(1)],
            **{f"p_{c}": p[:, i] for i, c in enumerate(CLASSES)},
        }
    )


def test_two_independent_classifiers_fused_beat_each_and_a_useless_one_gets_no_weight() -> None:
    rng = np.random.default_rng(3)
    val_truth, test_truth = rng.integers(0, 3, 600), rng.integers(0, 3, 3000)
    image_val = simulated_predictions(rng, val_truth, 1.5, "val")
    image_test = simulated_predictions(rng, test_truth, 1.5, "test")
    metadata_val = simulated_predictions(rng, val_truth, 1.5, "val").sample(frac=1, random_state=1)
    metadata_test = simulated_predictions(rng, test_truth, 1.5, "test")
    evaluation, validation, weights = fuse_predictions(image_val, image_test, metadata_val, metadata_test, CLASSES)
    fused = f1_score(evaluation.predictions["class"], evaluation.predictions["prediction"], average="macro")
    for single in (image_test, metadata_test):
        assert fused > f1_score(single["class"], single["prediction"], average="macro") + 0.05
    # Independent, equally good, calibrated experts: the likelihood-optimal pool multiplies them (weights near 1).
    assert weights["weight"].to_numpy() == pytest.approx([1.0, 1.0], abs=0.25)
    assert list(validation["path"]) == list(image_val["path"])
    assert evaluation.per_class["run"].eq("fusion").all()

    noise_val = simulated_predictions(rng, rng.integers(0, 3, 600), 1.5, "val")  # unrelated to the truth
    noise_val["path"], noise_val["class"] = image_val["path"], image_val["class"]
    noise_test = simulated_predictions(rng, rng.integers(0, 3, 3000), 1.5, "test")
    noise_test["path"], noise_test["class"] = image_test["path"], image_test["class"]
    _, _, weights = fuse_predictions(image_val, image_test, noise_val, noise_test, CLASSES)
    assert weights.set_index("classifier").loc["gbm_metadata", "weight"] < 0.15


def test_predictions_of_other_images_are_refused() -> None:
    rng = np.random.default_rng(4)
    truth = rng.integers(0, 3, 50)
    image = simulated_predictions(rng, truth, 1.0, "val")
    other = simulated_predictions(rng, truth, 1.0, "other")
    with pytest.raises(ValueError, match="not of the same images"):
        fuse_predictions(image, image, other, image, CLASSES)
