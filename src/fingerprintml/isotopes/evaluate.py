"""Evaluation of isotope classifiers: prediction tables, per-model metrics and the comparison table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fingerprintml.isotopes.data import FEATURES, LEVELS, ROOT, label_paths
from fingerprintml.isotopes.metrics import hierarchical_scores, level_accuracy, level_confusion
from fingerprintml.isotopes.models import fit_model, node_probabilities, predict_paths
from fingerprintml.isotopes.search import Splits, cv_splits, fold_results, search_log
from fingerprintml.isotopes.trust import TrustSettings, fit_trust

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


def _fold_predictions(
    splits: Splits, *, X: np.ndarray, Y: np.ndarray, model: str, learner: str, params: dict[str, Any], seed: int
) -> list[tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
    out = []
    for train, test in splits:
        estimator = fit_model(model, learner, params, seed, X[train], Y[train])
        out.append((test, predict_paths(estimator, X[test]), node_probabilities(estimator, X[test])))
    return out


def cross_val_predictions(
    X: np.ndarray, Y: np.ndarray, splits: Splits, best: dict[str, Any], *, seed: int, n_jobs: int = 1
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Out-of-fold predicted paths of the search's point ``best`` (model, learner, params) as
    :func:`~fingerprintml.isotopes.search.cross_val_paths` gives them (the same fits), and node probabilities (a node a
    fold's model does not know has probability 0); the folds over ``n_jobs`` processes."""
    run = {"model": best["model"], "learner": best["learner"], "params": best["params"]}
    predicted = np.full(Y.shape, "", dtype=object)
    probabilities: dict[str, np.ndarray] = {}
    for test, paths, nodes in fold_results(_fold_predictions, splits, n_jobs, X=X, Y=Y, seed=seed, **run):
        predicted[test] = paths
        for node, values in nodes.items():
            probabilities.setdefault(node, np.zeros(len(Y)))[test] = values
    return predicted.astype(str), probabilities


def evaluate_run(
    train: pd.DataFrame,
    external: pd.DataFrame,
    best: dict[str, Any],
    *,
    seed: int,
    trust: TrustSettings,
    n_jobs: int = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], dict[str, Any]]:
    """The best point of a search (``best``: model, learner, cv, params) evaluated.

    Returns the out-of-fold predictions and node probabilities of ``train`` by the search's own cross-validation
    (the folds over ``n_jobs`` processes) with their trust columns (:func:`~fingerprintml.isotopes.trust.fit_trust`),
    the predictions, node probabilities and trust columns of ``external`` by the model refitted on all of ``train``,
    that fitted model with its model, learner, params and trust layer (what the prediction rule loads), and the
    trust report (calibration and conformal coverage per level, domain thresholds).
    """
    model, learner, params = best["model"], best["learner"], best["params"]
    X, Y = train[FEATURES].to_numpy(dtype=float), label_paths(train)
    splits = cv_splits(Y, best["cv"], seed)
    predicted, probabilities = cross_val_predictions(X, Y, splits, best, seed=seed, n_jobs=n_jobs)
    layer, train_trust, report = fit_trust(X, Y, predicted, probabilities, splits, trust, seed)
    estimator = fit_model(model, learner, params, seed, X, Y)
    X_ext = external[FEATURES].to_numpy(dtype=float)
    ext_predicted, ext_probabilities = predict_paths(estimator, X_ext), node_probabilities(estimator, X_ext)
    external_table = pd.concat(
        [
            prediction_table(external, ext_predicted, ext_probabilities),
            layer.annotate(X_ext, ext_predicted, ext_probabilities).set_index(external.index),
        ],
        axis=1,
    )
    loo_table = pd.concat(
        [prediction_table(train, predicted, probabilities), train_trust.set_index(train.index)], axis=1
    )
    fitted = {"model": model, "learner": learner, "params": params, "estimator": estimator, "trust": layer}
    return loo_table, external_table, fitted, report


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


def domain_split(external: pd.DataFrame, run: str) -> pd.DataFrame:
    """One run's external predictions split by its applicability domain: per part (all, in, out) the count, the
    fraction placed under Natural and the hierarchical F1 (original protocol)."""
    truth, pred = label_paths(external), predicted_paths(external)
    inside = external["in_domain"].astype(str).str.lower().eq("true").to_numpy()
    rows = []
    for part, rows_of in (("all", np.ones(len(external), dtype=bool)), ("in", inside), ("out", ~inside)):
        count = int(rows_of.sum())
        rows.append(
            {
                "run": run,
                "part": part,
                "n": count,
                "fraction": count / len(external),
                "natural": natural_fraction(pred[rows_of]) if count else float("nan"),
                "hF1": hierarchical_scores(truth[rows_of], pred[rows_of])["hF1"] if count else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def trust_tables(
    reports: dict[str, dict[str, Any]], loo: dict[str, pd.DataFrame]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """From each run's trust report (:func:`~fingerprintml.isotopes.trust.fit_trust`) and out-of-fold table: per run
    and level the ECE before and after calibration and the conformal sets' leave-one-out coverage, size and the fraction
    of backed-off paths that still reach the level, and the reliability bins (``stage`` before/after) in long form."""
    calibration, conformal, bins = [], [], []
    for run, report in reports.items():
        backed = [path.split(":") for path in loo[run]["backed_off_path"]]
        for depth, level in enumerate(LEVELS):
            entry = report["levels"][level]
            calibration.append(
                {
                    "run": run,
                    "level": level,
                    "n": entry["n"],
                    "ece_before": entry["ece_before"],
                    "ece_after": entry["ece_after"],
                }
            )
            conformal.append(
                {
                    "run": run,
                    "level": level,
                    "n": entry["n"],
                    "confidence": entry["confidence"],
                    "coverage": entry["coverage"],
                    "mean_set_size": entry["mean_set_size"],
                    "singletons": entry["singletons"],
                    "backed_off_reaching": float(np.mean([len(p) > depth and p[0] != ROOT for p in backed])),
                }
            )
            for stage in ("before", "after"):
                bins += [{"run": run, "level": level, "stage": stage, **b} for b in entry[f"reliability_{stage}"]]
    return pd.DataFrame(calibration), pd.DataFrame(conformal), pd.DataFrame(bins)


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
    calibration: pd.DataFrame
    """Per run and level the ECE of the out-of-fold per-level probabilities before and after calibration."""
    conformal: pd.DataFrame
    """Per run and level the leave-one-out coverage and size of the conformal sets (:func:`trust_tables`)."""
    reliability: pd.DataFrame
    """Per run, level and stage (before/after calibration) the reliability bins."""
    domain: pd.DataFrame
    """Per run the external set split by applicability domain (:func:`domain_split`)."""


def summarise(
    train: pd.DataFrame,
    *,
    loo: dict[str, pd.DataFrame],
    nested: dict[str, pd.DataFrame],
    external: dict[str, pd.DataFrame],
    points: dict[str, pd.DataFrame],
    trust: dict[str, dict[str, Any]],
) -> Summary:
    """The comparison of a dataset's runs: each argument maps ``model-learner`` to that run's table (out-of-fold,
    nested and external predictions, search points) or trust report; the baseline is scored on ``train`` and the
    external set."""
    runs = list(loo)
    metrics = {run: run_metrics(loo[run], nested[run], external[run]) for run in runs}
    metrics["baseline-majority leaf"] = baseline_metrics(train, external[runs[0]])
    table = comparison_table(metrics)
    best = best_run(table)
    confusion = confusion_of(loo[best])
    confusion.insert(0, "run", best)
    calibration, conformal, reliability_bins = trust_tables(trust, loo)
    return Summary(
        table=table,
        headline=table[list(HEADLINE)].rename(columns=HEADLINE),
        levels=table[["model", "learner", "acc_source", "acc_species", "acc_route"]],
        confusion=confusion,
        search_log=search_log(points),
        best=best,
        calibration=calibration,
        conformal=conformal,
        reliability=reliability_bins,
        domain=pd.concat([domain_split(external[run], run) for run in runs], ignore_index=True),
    )
