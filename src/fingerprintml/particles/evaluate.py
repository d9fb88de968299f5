"""Test-set metrics: accuracy, per-class precision/recall/F1 and the confusion matrix."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


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
