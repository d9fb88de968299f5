"""Image and metadata fused late: the image-only network and the metadata-only gradient boosting combined by
log-linear pooling of their class probabilities (Genest & Zidek 1986, Statistical Science 1:114),

    log p(c | image, metadata) = w_image log p_image(c) + w_metadata log p_metadata(c) + const,

with the two weights fitted on the validation part (maximum likelihood, weights >= 0). A weight near 0 says that
classifier adds nothing; weights summing to more than 1 sharpen two agreeing answers. Both classifiers already
correct for the class imbalance the same way, so the class prior is not divided out."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import log_softmax

from fingerprintml.particles.evaluate import Evaluation, confusion_table, per_class_metrics

log = logging.getLogger(__name__)

RUN = "fusion"
# Probabilities below this are clipped before the logarithm (a boosting probability of exactly 0 would veto a class).
FLOOR = 1e-6


def _log_probabilities(table: pd.DataFrame, classes: list[str]) -> np.ndarray:
    return np.log(np.clip(table[[f"p_{c}" for c in classes]].to_numpy(float), FLOOR, None))


def pooled_probabilities(logs: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Log-linear pool of the log-probabilities ``logs`` (one (n, k) array per classifier) with ``weights``."""
    return np.exp(log_softmax(sum(w * lp for w, lp in zip(weights, logs, strict=True)), axis=1))


def fit_pooling_weights(logs: list[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """Non-negative pooling weights minimising the mean negative log-likelihood of ``labels`` (class indices)."""
    rows = np.arange(len(labels))

    def loss(weights: np.ndarray) -> float:
        pooled = log_softmax(sum(w * lp for w, lp in zip(weights, logs, strict=True)), axis=1)
        return float(-pooled[rows, labels].mean())

    result = minimize(loss, np.ones(len(logs)), method="L-BFGS-B", bounds=[(0.0, 10.0)] * len(logs))
    return result.x


def _aligned(image: pd.DataFrame, metadata: pd.DataFrame, part: str) -> pd.DataFrame:
    if sorted(image["path"]) != sorted(metadata["path"]):
        raise ValueError(f"{RUN}: the image-only and metadata-only {part} predictions are not of the same images")
    return metadata.set_index("path").loc[image["path"]].reset_index()


def fuse_predictions(
    image_val: pd.DataFrame,
    image_test: pd.DataFrame,
    metadata_val: pd.DataFrame,
    metadata_test: pd.DataFrame,
    classes: list[str],
) -> tuple[Evaluation, pd.DataFrame, pd.DataFrame]:
    """The fused classifier from the validation and test prediction tables (``path``, ``class``, ``p_<class>``) of
    the image-only and metadata-only runs: its test evaluation, its validation predictions and the fitted weights
    (a table with ``classifier``, ``weight``)."""
    index = {c: i for i, c in enumerate(classes)}
    tables = {}
    for part, image, metadata in (("validation", image_val, metadata_val), ("test", image_test, metadata_test)):
        metadata = _aligned(image, metadata, part)
        tables[part] = (image, [_log_probabilities(image, classes), _log_probabilities(metadata, classes)])
    val_table, val_logs = tables["validation"]
    weights = fit_pooling_weights(val_logs, val_table["class"].map(index).to_numpy())
    log.info("%s: weights image %.3f, metadata %.3f (fitted on %d validation images)", RUN, *weights, len(val_table))
    fused = {}
    for part, (table, logs) in tables.items():
        probabilities = pooled_probabilities(logs, weights)
        fused[part] = pd.DataFrame(
            {
                "path": table["path"],
                "class": table["class"],
                "prediction": [classes[i] for i in probabilities.argmax(1)],
                **{f"p_{c}": probabilities[:, i] for i, c in enumerate(classes)},
            }
        )
    test = fused["test"]
    truth, predicted = test["class"].map(index).to_numpy(), test["prediction"].map(index).to_numpy()
    log.info("%s: test accuracy %.4f on %d images", RUN, float((truth == predicted).mean()), len(truth))
    evaluation = Evaluation(
        test,
        np.zeros((len(test), 0), np.float32),
        per_class_metrics(truth, predicted, classes).assign(run=RUN),
        confusion_table(truth, predicted, classes),
    )
    weight_table = pd.DataFrame({"classifier": ["image_only", "gbm_metadata"], "weight": weights})
    return evaluation, fused["validation"], weight_table
