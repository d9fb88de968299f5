"""Accuracy of the identifier: top-k on held-out augmentations, a harder set, augmentation strength, prototypes."""

from __future__ import annotations

import numpy as np
import pandas as pd


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose label is among the ``k`` highest scores."""
    top = np.argsort(-scores, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def prototype_scores(query: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """Cosine similarity of L2-normalised query embeddings to L2-normalised class prototypes."""
    norm = prototypes / np.linalg.norm(prototypes, axis=1, keepdims=True)
    return query @ norm.T


def class_prototypes(embedding: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean embedding per class (classes without rows get zeros)."""
    sums = np.zeros((n_classes, embedding.shape[1]))
    np.add.at(sums, labels, embedding)
    counts = np.bincount(labels, minlength=n_classes)[:, None]
    return sums / np.maximum(counts, 1)


def accuracy_rows(name: str, split: str, method: str, scores: np.ndarray, labels: np.ndarray) -> list[dict]:
    return [
        {"set": name, "split": split, "method": method, "n": len(labels), "metric": f"top{k}", "value": value}
        for k in (1, 5)
        for value in [top_k_accuracy(scores, labels, k)]
    ]


def metrics_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["set", "split", "method", "n", "metric", "value"])
