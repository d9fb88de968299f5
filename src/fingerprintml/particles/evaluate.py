"""Test-set evaluation: predictions and embeddings of a saved model, per-class metrics, the confusion matrix, the
summary of the runs (full model, image-only ablation, metadata-only baseline), and the novelty detector of a model."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from fingerprintml.particles.data import Arrays
from fingerprintml.particles.train import load_model, predict
from fingerprintml.particles.trust import NoveltyDetector, novelty_summary

log = logging.getLogger(__name__)

EVAL_BATCH = 256


def per_class_metrics(truth: np.ndarray, predicted: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class (indices into ``classes``)."""
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=range(len(classes)), zero_division=0
    )
    return pd.DataFrame({"class": classes, "precision": precision, "recall": recall, "f1": f1, "support": support})


def confusion_table(truth: np.ndarray, predicted: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """Confusion matrix as a table: one row per true class, one column per predicted class."""
    matrix = confusion_matrix(truth, predicted, labels=range(len(classes)))
    return pd.DataFrame(matrix, columns=classes).assign(true=classes)[["true", *classes]]


def prediction_table(arrays: Arrays, probabilities: np.ndarray, classes: list[str]) -> pd.DataFrame:
    """One row per image of ``arrays``: path, class, prediction (argmax) and ``p_<class>``."""
    return pd.DataFrame(
        {
            "path": arrays.paths,
            "class": [classes[i] for i in arrays.labels],
            "prediction": [classes[i] for i in probabilities.argmax(1)],
            **{f"p_{c}": probabilities[:, i] for i, c in enumerate(classes)},
        }
    )


@dataclass
class Evaluation:
    """A run on the test set: one row per image (path, class, prediction, ``p_<class>``), the 64-d embeddings
    (float32), per-class metrics (with the run) and the confusion table."""

    predictions: pd.DataFrame
    embeddings: np.ndarray
    per_class: pd.DataFrame
    confusion: pd.DataFrame


def evaluate_model(
    model_path: str | os.PathLike[str], test: Arrays, device: torch.device, run: str, batch_size: int = EVAL_BATCH
) -> Evaluation:
    """The saved model of ``run`` on the ``test`` arrays."""
    model, bundle = load_model(model_path, device)
    classes = bundle["classes"]
    probabilities, embeddings = predict(model, test, device, batch_size)
    predicted = probabilities.argmax(1)
    log.info("%s: test accuracy %.4f on %d images", run, float((predicted == test.labels).mean()), len(test.labels))
    return Evaluation(
        prediction_table(test, probabilities, classes),
        embeddings.astype(np.float32),
        per_class_metrics(test.labels, predicted, classes).assign(run=run),
        confusion_table(test.labels, predicted, classes),
    )


def summarise_runs(
    runs: list[str], predictions: list[pd.DataFrame], per_class: list[pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per run (test images, accuracy, macro F1, lowest recall) and the runs' per-class metrics together."""
    rows = [
        {
            "run": run,
            "test_images": len(table),
            "accuracy": float((table["class"] == table["prediction"]).mean()),
            "macro_f1": float(metrics["f1"].mean()),
            "min_recall": float(metrics["recall"].min()),
        }
        for run, table, metrics in zip(runs, predictions, per_class, strict=True)
    ]
    return pd.DataFrame(rows), pd.concat(per_class, ignore_index=True)


def novelty_from_model(
    model_path: str | os.PathLike[str],
    arrays: dict[str, Arrays],
    test_predictions: pd.DataFrame,
    test_embeddings: np.ndarray,
    quantile: float,
    device: torch.device,
    batch_size: int = EVAL_BATCH,
) -> tuple[NoveltyDetector, pd.DataFrame, pd.DataFrame]:
    """The novelty detector of a saved model (:class:`NoveltyDetector` on the embeddings of ``arrays['train']``,
    threshold at ``quantile`` of ``arrays['val']``'s scores), the test predictions with their ``novelty`` and
    ``novel`` columns, and the flagged particles per part (validation, test) and true class."""
    model, bundle = load_model(model_path, device)
    classes = bundle["classes"]
    _, train = predict(model, arrays["train"], device, batch_size)
    val_p, val = predict(model, arrays["val"], device, batch_size)
    detector = NoveltyDetector.fit(train, arrays["train"].labels, val, quantile, len(classes))
    scored = {
        "validation": detector.flag(prediction_table(arrays["val"], val_p, classes), val),
        "test": detector.flag(test_predictions, test_embeddings),
    }
    summary = novelty_summary(pd.concat([t.assign(part=part) for part, t in scored.items()]), ["part", "class"])
    log.info("novelty threshold %.2f; flagged:\n%s", detector.threshold, summary.to_string(index=False))
    return detector, scored["test"][["path", "class", "prediction", "novelty", "novel"]], summary
