"""Evaluation of isotope classifiers: prediction tables, per-model metrics and the comparison table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fingerprintml.isotopes.data import FEATURES, LEVELS, label_paths
from fingerprintml.isotopes.metrics import hierarchical_scores, level_accuracy, level_confusion
from fingerprintml.isotopes.models import fit_model, node_probabilities, predict_paths
from fingerprintml.isotopes.search import cross_val_paths, cv_splits, search_log

PRED = [f"pred_{level}" for level in LEVELS]


def prediction_table(
    table: pd.DataFrame, predicted: np.ndarray, probabilities: dict[str, np.ndarray] | None = None
) -> pd.DataFrame:
    """The input table with predicted paths (``pred_source`` ...) and, if given, node probabilities (``p_<node>``)."""
    out = table.copy()
    for i, column in enumerate(PRED):
        out[column] = predicted[:, i]
    for node, values in sorted((probabilities or {}).items()):
        out[f"p_{node}"] = values
    return out


def predicted_paths(df: pd.DataFrame) -> np.ndarray:
    """The (n, 3) predicted paths of a prediction table."""
    return df[PRED].to_numpy(dtype=object).astype(str)


def majority_leaf_paths(Y: np.ndarray) -> np.ndarray:
    """The trivial baseline: every sample predicted as the most frequent training leaf."""
    leaf = Counter(map(tuple, Y)).most_common(1)[0][0]
    return np.tile(np.array(leaf, dtype=str), (len(Y), 1))


def natural_fraction(paths: np.ndarray) -> float:
    """Fraction of samples placed under Natural at the source level."""
    return float((paths[:, 0] == "Natural").mean())


def _metrics(
    truth: np.ndarray, pred: np.ndarray, nested_pred: np.ndarray, external: pd.DataFrame, ext_pred: np.ndarray
) -> dict[str, float]:
    original = hierarchical_scores(truth, pred, original=True)
    troll = (external["subset"] == "Troll").to_numpy()
    return {
        "hP": original["hP"],
        "hR": original["hR"],
        "hF1": original["hF1"],
        "hF1_no_root": hierarchical_scores(truth, pred, original=False)["hF1"],
        "nested_hF1": hierarchical_scores(truth, nested_pred, original=True)["hF1"],
        "nested_hF1_no_root": hierarchical_scores(truth, nested_pred, original=False)["hF1"],
        **{f"acc_{level}": value for level, value in level_accuracy(truth, pred).items()},
        "external_natural": natural_fraction(ext_pred),
        "external_natural_troll": natural_fraction(ext_pred[troll]) if troll.any() else float("nan"),
        "external_hF1": hierarchical_scores(label_paths(external), ext_pred, original=True)["hF1"],
    }


def run_metrics(loo: pd.DataFrame, nested: pd.DataFrame, external: pd.DataFrame) -> dict[str, float]:
    """The headline numbers of one model: CV scores by the original's protocol and without the root,
    the nested-CV score, per-level accuracy and the external natural test."""
    nested_pred = nested.sort_values("index")[LEVELS].to_numpy(dtype=object).astype(str)
    return _metrics(label_paths(loo), predicted_paths(loo), nested_pred, external, predicted_paths(external))


def baseline_metrics(train: pd.DataFrame, external: pd.DataFrame) -> dict[str, float]:
    """The same numbers for the majority-leaf baseline (it needs no search, so nested = plain)."""
    truth = label_paths(train)
    pred = majority_leaf_paths(truth)
    return _metrics(truth, pred, pred, external, np.tile(pred[0], (len(external), 1)))


def comparison_table(runs: dict[str, dict[str, float]]) -> pd.DataFrame:
    """One row per ``model-learner`` run (and the baseline), best original-protocol hF1 first."""
    rows = []
    for run, metrics in runs.items():
        model, _, learner = run.partition("-")
        rows.append({"model": model, "learner": learner or "-", **metrics})
    return pd.DataFrame(rows).sort_values("hF1", ascending=False, kind="stable").reset_index(drop=True)


def best_run(table: pd.DataFrame) -> str:
    """``model-learner`` of the best run by the original-protocol hF1 (the baseline excluded)."""
    runs = table[table["model"] != "baseline"]
    row = runs.iloc[0]
    return f"{row['model']}-{row['learner']}"


def confusion_of(loo: pd.DataFrame) -> pd.DataFrame:
    """Per-level confusion counts of out-of-fold predictions."""
    return level_confusion(label_paths(loo), predicted_paths(loo))


def evaluate_run(
    train: pd.DataFrame, external: pd.DataFrame, best: dict[str, Any], *, seed: int, n_jobs: int = 1
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """The best point of a search (``best``: model, learner, cv, params) evaluated.

    Returns the out-of-fold predictions of ``train`` by the search's own cross-validation (the folds over
    ``n_jobs`` processes), the predictions and node probabilities of ``external`` by the model refitted on all of
    ``train``, and that fitted model with its model, learner and params (what the prediction rule loads).
    """
    model, learner, params = best["model"], best["learner"], best["params"]
    X, Y = train[FEATURES].to_numpy(dtype=float), label_paths(train)
    splits = cv_splits(Y, best["cv"], seed)
    predicted = cross_val_paths(X, Y, splits, model=model, learner=learner, params=params, seed=seed, n_jobs=n_jobs)
    estimator = fit_model(model, learner, params, seed, X, Y)
    X_ext = external[FEATURES].to_numpy(dtype=float)
    external_table = prediction_table(external, predict_paths(estimator, X_ext), node_probabilities(estimator, X_ext))
    fitted = {"model": model, "learner": learner, "params": params, "estimator": estimator}
    return prediction_table(train, predicted), external_table, fitted


# The LaTeX table's headline columns and their headers.
HEADLINE = {
    "model": "model",
    "learner": "learner",
    "hF1": "hF1 (CV)",
    "hF1_no_root": "hF1 no root",
    "nested_hF1": "hF1 nested",
    "external_natural": "ext. Natural",
    "external_natural_troll": "ext. Natural (Troll)",
}
HEADLINE_CAPTION = (
    "Hierarchical F1 of the isotope source classifiers (original protocol, without the root, nested CV) "
    "and the fraction of external natural samples placed under Natural."
)


@dataclass(frozen=True)
class Summary:
    """The tables of a dataset's model comparison."""

    table: pd.DataFrame
    """Every run and the majority-leaf baseline, best CV hF1 first (:func:`comparison_table`)."""
    headline: pd.DataFrame
    """The columns of :data:`HEADLINE` under their LaTeX headers."""
    levels: pd.DataFrame
    """Per-level accuracy of each run."""
    confusion: pd.DataFrame
    """Per-level confusion counts of the best run's out-of-fold predictions, with its name in ``run``."""
    search_log: pd.DataFrame
    """Every search point of every run (:func:`~fingerprintml.isotopes.search.search_log`)."""
    best: str
    """``model-learner`` of the best run."""


def summarise(
    train: pd.DataFrame,
    *,
    loo: dict[str, pd.DataFrame],
    nested: dict[str, pd.DataFrame],
    external: dict[str, pd.DataFrame],
    points: dict[str, pd.DataFrame],
) -> Summary:
    """The comparison of a dataset's runs: each argument maps ``model-learner`` to that run's table (out-of-fold,
    nested and external predictions, search points); the baseline is scored on ``train`` and the external set."""
    runs = list(loo)
    metrics = {run: run_metrics(loo[run], nested[run], external[run]) for run in runs}
    metrics["baseline-majority leaf"] = baseline_metrics(train, external[runs[0]])
    table = comparison_table(metrics)
    best = best_run(table)
    confusion = confusion_of(loo[best])
    confusion.insert(0, "run", best)
    return Summary(
        table=table,
        headline=table[list(HEADLINE)].rename(columns=HEADLINE),
        levels=table[["model", "learner", "acc_source", "acc_species", "acc_route"]],
        confusion=confusion,
        search_log=search_log(points),
        best=best,
    )
