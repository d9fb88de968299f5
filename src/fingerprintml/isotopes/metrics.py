"""Hierarchical metrics: set-based precision, recall and F1 over the nodes of the label paths.

Scores are micro-averaged over the pooled out-of-fold predictions, as NanoTracer does (hiclass.metrics.f1
with its default average on all leave-one-out predictions at once). ``original=True`` counts the root
(MgP) as a node of every path, as in its label files; padding is ignored. ``original=False`` drops the
root, which every model gets right for free.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fingerprintml.isotopes.data import LEVELS, ROOT


def node_sets(paths: np.ndarray, original: bool) -> list[set[str]]:
    """Per sample, the set of full node names of its path (``MgP.Engineered.Mag``), padding left out."""
    sets = []
    for row in paths:
        names = [ROOT] if original else []
        prefix = ROOT
        for node in row:
            if not node:
                break
            prefix = f"{prefix}.{node}"
            names.append(prefix)
        sets.append(set(names))
    return sets


def hierarchical_scores(true_paths: np.ndarray, pred_paths: np.ndarray, original: bool = True) -> dict[str, float]:
    """Micro-averaged hierarchical precision, recall and F1 of predicted label paths."""
    truth, pred = node_sets(true_paths, original), node_sets(pred_paths, original)
    overlap = sum(len(t & p) for t, p in zip(truth, pred, strict=True))
    n_pred, n_true = sum(map(len, pred)), sum(map(len, truth))
    precision = overlap / n_pred if n_pred else 0.0
    recall = overlap / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"hP": precision, "hR": recall, "hF1": f1}


def hierarchical_f1(true_paths: np.ndarray, pred_paths: np.ndarray, original: bool = True) -> float:
    """Micro-averaged hierarchical F1 (see :func:`hierarchical_scores`)."""
    return hierarchical_scores(true_paths, pred_paths, original)["hF1"]


def level_accuracy(true_paths: np.ndarray, pred_paths: np.ndarray) -> dict[str, float]:
    """Accuracy at each level, over the samples whose true path reaches it; the path above must match too."""
    result = {}
    for depth, level in enumerate(LEVELS):
        reaches = true_paths[:, depth] != ""
        if not reaches.any():
            result[level] = float("nan")
            continue
        correct = (true_paths[reaches, : depth + 1] == pred_paths[reaches, : depth + 1]).all(axis=1)
        result[level] = float(correct.mean())
    return result


def level_confusion(true_paths: np.ndarray, pred_paths: np.ndarray) -> pd.DataFrame:
    """Long-form confusion counts per level (``level, true, predicted, count``) over samples reaching it.

    A prediction that stops above the level is counted as ``(none)``.
    """
    rows = []
    for depth, level in enumerate(LEVELS):
        reaches = true_paths[:, depth] != ""
        truth = [":".join(r[: depth + 1]) for r in true_paths[reaches]]
        pred = [":".join(r[: depth + 1]) if r[depth] else "(none)" for r in pred_paths[reaches]]
        counts = pd.crosstab(pd.Series(truth, name="true"), pd.Series(pred, name="predicted"))
        for t in counts.index:
            for p in counts.columns:
                rows.append({"level": level, "true": t, "predicted": p, "count": int(counts.loc[t, p])})
    return pd.DataFrame(rows)
