"""The metadata-only baseline beside the network: gradient-boosted trees (scikit-learn's histogram gradient boosting,
what FlowCam users usually fit to FlowCam's measurements) on the standardised metadata of the network's own split."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from fingerprintml.particles.data import Arrays
from fingerprintml.particles.evaluate import Evaluation, confusion_table, per_class_metrics, prediction_table

log = logging.getLogger(__name__)

RUN = "gbm_metadata"


@dataclass(frozen=True)
class BaselineSettings:
    """Histogram gradient boosting: boosting iterations at most, learning rate, leaves per tree; early stopping on
    the validation part after ``patience`` iterations without a better validation loss."""

    max_iter: int = 500
    learning_rate: float = 0.05
    max_leaf_nodes: int = 31
    patience: int = 30


def metadata_gbm(
    arrays: dict[str, Arrays], classes: list[str], seed: int, settings: BaselineSettings = BaselineSettings()
) -> tuple[Evaluation, pd.DataFrame]:
    """Gradient boosting on the metadata of ``arrays['train']`` (class-balanced sample weights, as the network's loss),
    the number of iterations chosen on ``arrays['val']``; the test evaluation (no embeddings) and the validation
    predictions (the same columns as the network's)."""
    train, val, test = arrays["train"], arrays["val"], arrays["test"]
    counts = np.bincount(train.labels, minlength=len(classes)).astype(float)
    weights = len(train.labels) / (len(classes) * counts[train.labels])
    # Early stopping needs the held-out part passed in: refit with the best iteration count found on validation.
    probe = HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        random_state=seed,
    )
    best, best_loss, stale = 0, np.inf, 0
    for iteration, p in enumerate(
        probe.fit(train.metadata, train.labels, sample_weight=weights).staged_predict_proba(val.metadata), 1
    ):
        loss = -np.log(np.clip(p[np.arange(len(val.labels)), val.labels], 1e-12, None)).mean()
        if loss < best_loss:
            best, best_loss, stale = iteration, loss, 0
        else:
            stale += 1
            if stale >= settings.patience:
                break
    model = probe.set_params(max_iter=best).fit(train.metadata, train.labels, sample_weight=weights)
    log.info("%s: %d boosting iterations (validation log-loss %.4f)", RUN, best, best_loss)
    test_p, val_p = model.predict_proba(test.metadata), model.predict_proba(val.metadata)
    predicted = test_p.argmax(1)
    log.info("%s: test accuracy %.4f on %d images", RUN, float((predicted == test.labels).mean()), len(test.labels))
    evaluation = Evaluation(
        prediction_table(test, test_p, classes),
        np.zeros((len(test.labels), 0), np.float32),
        per_class_metrics(test.labels, predicted, classes).assign(run=RUN),
        confusion_table(test.labels, predicted, classes),
    )
    return evaluation, prediction_table(val, val_p, classes)
