"""The metadata-only baseline beside the network: gradient-boosted trees (scikit-learn's histogram gradient boosting,
what FlowCam users usually fit to FlowCam's measurements) on the standardised metadata of the network's own split."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

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
    arrays: dict[str, Arrays],
    classes: list[str],
    seed: int,
    settings: BaselineSettings = BaselineSettings(),
    threads: int = 1,
) -> tuple[Evaluation, pd.DataFrame]:
    """Gradient boosting on the metadata of ``arrays['train']`` (class-balanced sample weights, as the network's loss),
    the number of iterations chosen on ``arrays['val']``; the test evaluation (no embeddings) and the validation
    predictions (the same columns as the network's). A dataset without metadata columns gets the training class
    frequencies as every prediction (the chance level). The boosting's OpenMP threads are held to ``threads``: on
    a busy machine its default of one thread per core slows it down a hundredfold."""
    train, val, test = arrays["train"], arrays["val"], arrays["test"]
    counts = np.bincount(train.labels, minlength=len(classes)).astype(float)
    if train.metadata.shape[1] == 0:
        # Without metadata the best metadata-only model is the training class frequencies: the chance level.
        log.warning("%s: the dataset has no metadata columns; the baseline is the training class frequencies", RUN)
        prior = counts / counts.sum()
        return _evaluation(test, np.tile(prior, (len(test.labels), 1)), classes), prediction_table(
            val, np.tile(prior, (len(val.labels), 1)), classes
        )
    weights = len(train.labels) / (len(classes) * counts[train.labels])
    # Early stopping needs the held-out part passed in: refit with the best iteration count found on validation.
    probe = HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        random_state=seed,
    )
    with threadpool_limits(limits=threads, user_api="openmp"):
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
    return _evaluation(test, test_p, classes), prediction_table(val, val_p, classes)


def _evaluation(test: Arrays, probabilities: np.ndarray, classes: list[str]) -> Evaluation:
    predicted = probabilities.argmax(1)
    log.info("%s: test accuracy %.4f on %d images", RUN, float((predicted == test.labels).mean()), len(test.labels))
    return Evaluation(
        prediction_table(test, probabilities, classes),
        np.zeros((len(test.labels), 0), np.float32),
        per_class_metrics(test.labels, predicted, classes).assign(run=RUN),
        confusion_table(test.labels, predicted, classes),
    )
