"""Metrics by scikit-learn's standard definitions: binary error matrices, multilabel exact match, Hamming loss,
per-nuclide precision/recall/F1 and ROC AUC, and the activity estimates against the simulated truth."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scipy.special import ndtr
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    hamming_loss,
    precision_recall_fscore_support,
    roc_auc_score,
)

SCORE_COLUMNS = ["file", "has_source", "method", "score", "predicted"]


def score_table(
    files: np.ndarray, truth: np.ndarray, method: str, score: np.ndarray, predicted: np.ndarray
) -> pd.DataFrame:
    """The test scores of one binary detection method in the long layout of ``SCORE_COLUMNS`` (one row per
    spectrum and method): the tables of all methods are concatenated, and :func:`binary_metrics` reads them."""
    return pd.DataFrame(
        {
            "file": files,
            "has_source": np.asarray(truth).astype(int),
            "method": method,
            "score": score,
            "predicted": np.asarray(predicted).astype(int),
        },
        columns=SCORE_COLUMNS,
    )


def binary_metrics(scores: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Accuracy, precision, recall and F1 of each method of a score table (:func:`score_table` layout), in the
    table's order of methods, and its error matrix (true x predicted, long form)."""
    missing = set(SCORE_COLUMNS) - set(scores.columns)
    if missing:
        raise ValueError(f"the binary score table lacks the columns {sorted(missing)}")
    rows, matrices = [], []
    for method, part in scores.groupby("method", sort=False):
        truth, predicted = part["has_source"].to_numpy(), part["predicted"].to_numpy()
        precision, recall, f1, _ = precision_recall_fscore_support(truth, predicted, average="binary", zero_division=0)
        rows.append(
            {
                "method": method,
                "accuracy": accuracy_score(truth, predicted),
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "n": len(truth),
            }
        )
        matrix = confusion_matrix(truth, predicted, labels=[0, 1])
        matrices += [
            {"method": method, "true": t, "predicted": p, "count": int(matrix[t, p])} for t in (0, 1) for p in (0, 1)
        ]
    return pd.DataFrame(rows), pd.DataFrame(matrices)


def probability_columns(nuclides: list[str]) -> list[str]:
    """The columns of the nuclide probabilities in the probability and prediction tables."""
    return [f"p_{n}" for n in nuclides]


def probabilities_by_method(table: pd.DataFrame, files: pd.Index, nuclides: list[str]) -> dict[str, np.ndarray]:
    """``{method: (n_files, n_nuclides) probabilities}`` from a long probability table (file, method, p_<nuclide>),
    rows in the order of ``files``, methods in the table's order."""
    return {
        method: part.set_index("file").loc[files, probability_columns(nuclides)].to_numpy()
        for method, part in table.groupby("method", sort=False)
    }


def multilabel_metrics(
    truth: np.ndarray, predictions: dict[str, np.ndarray], probabilities: dict[str, np.ndarray], nuclides: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per method: exact-match ratio (all labels right, false positives included), Hamming loss, micro and macro F1;
    per method and nuclide: precision, recall, F1, support, ROC AUC and the error matrix counts."""
    overall, per_nuclide = [], []
    for method, predicted in predictions.items():
        overall.append(
            {
                "method": method,
                "exact_match": accuracy_score(truth, predicted),
                "hamming_loss": hamming_loss(truth, predicted),
                "f1_micro": f1_score(truth, predicted, average="micro", zero_division=0),
                "f1_macro": f1_score(truth, predicted, average="macro", zero_division=0),
                "n": len(truth),
            }
        )
        precision, recall, f1, support = precision_recall_fscore_support(truth, predicted, zero_division=0)
        for k, nuclide in enumerate(nuclides):
            matrix = confusion_matrix(truth[:, k], predicted[:, k], labels=[0, 1])
            per_nuclide.append(
                {
                    "method": method,
                    "nuclide": nuclide,
                    "precision": precision[k],
                    "recall": recall[k],
                    "f1": f1[k],
                    "support": int(support[k]),
                    "roc_auc": roc_auc_score(truth[:, k], probabilities[method][:, k]),
                    "tn": int(matrix[0, 0]),
                    "fp": int(matrix[0, 1]),
                    "fn": int(matrix[1, 0]),
                    "tp": int(matrix[1, 1]),
                }
            )
    return pd.DataFrame(overall), pd.DataFrame(per_nuclide)


def activity_comparison(lines: pd.DataFrame, truth: pd.DataFrame, nuclides: list[str]) -> pd.DataFrame:
    """Per fitted line of a nuclide truly present: estimate, truth (Bq at the reference date), relative error, the
    fit's relative uncertainty and the pull (estimate - truth) / uncertainty."""
    truth = truth.assign(file=truth["file"].str.split("/").str[-1]).set_index("file")
    known = lines[lines["file"].isin(truth.index)]
    true_activity = np.array(
        [truth.at[f, f"activity_bq_{n}"] for f, n in zip(known["file"], known["nuclide"], strict=True)]
    )
    table = known.assign(true_activity_bq=true_activity)
    table = table[table["true_activity_bq"] > 0]
    return table.assign(
        relative_error=table["activity_bq"] / table["true_activity_bq"] - 1.0,
        relative_sd=table["activity_sd_bq"] / table["activity_bq"].abs(),
        pull=(table["activity_bq"] - table["true_activity_bq"]) / table["activity_sd_bq"],
    ).reset_index(drop=True)


def activity_summary(
    comparison: pd.DataFrame, min_net_counts: float, tolerance: float, max_relative_sd: float
) -> pd.DataFrame:
    """For lines with more than ``min_net_counts`` net counts, per nuclide and line and pooled ('all'), over all
    lines, the interference-free ones, and the ones whose fitted relative uncertainty is below ``max_relative_sd``
    (selection): count, median and largest absolute relative error, the fraction within ``tolerance``; the
    fraction an unbiased estimate with the stated uncertainties would have within ``tolerance`` (the statistical
    limit: a line whose own uncertainty exceeds the tolerance misses it often whatever the estimator), the fraction
    within 2 standard uncertainties of the truth and the median relative uncertainty."""
    strong = comparison[comparison["net_counts"] > min_net_counts]

    def summary(part: pd.DataFrame) -> dict[str, float]:
        error = part["relative_error"].abs()
        empty = not len(part)
        return {
            "n_lines": len(part),
            "median_abs_error": np.nan if empty else float(error.median()),
            "max_abs_error": np.nan if empty else float(error.max()),
            "fraction_within_tolerance": np.nan if empty else float((error <= tolerance).mean()),
            "expected_fraction_within_tolerance": (
                np.nan if empty else float((1 - 2 * ndtr(-tolerance / part["relative_sd"])).mean())
            ),
            "fraction_within_2sd": np.nan if empty else float((part["pull"].abs() <= 2).mean()),
            "median_relative_sd": np.nan if empty else float(part["relative_sd"].median()),
        }

    selections = [
        ("all", strong),
        ("interference-free", strong[~strong["interfered"].astype(bool)]),
        (f"relative_sd<{max_relative_sd:g}", strong[strong["relative_sd"] < max_relative_sd]),
    ]
    rows = []
    for selection, part in selections:
        groups = part.groupby(["nuclide", "energy_kev"])
        rows += [{"selection": selection, "nuclide": n, "energy_kev": e, **summary(p)} for (n, e), p in groups]
        rows.append({"selection": selection, "nuclide": "all", "energy_kev": np.nan, **summary(part)})
    return pd.DataFrame(rows)


def detection_curve(predictions: pd.DataFrame, truth: pd.DataFrame, bins_per_decade: int = 2) -> pd.DataFrame:
    """Detection probability and identification accuracy of the test spectra with a source against their expected
    source counts (``truth.source_counts``: what the sources add to the spectrum), in log bins of
    ``bins_per_decade``: spectra per bin, the share detected (has_source) and the share identified exactly (the
    nuclides predicted are the true ones), each with its binomial standard error; a last row ('background') gives
    the false alarm rate of the spectra without a source."""
    truth = truth[truth["split"] == "test"].assign(file=truth["file"].str.split("/").str[-1]).set_index("file")
    table = predictions.set_index("file").join(truth[["source_counts"]], how="inner")
    true_sets = table.index.map(lambda f: "+".join(sorted(n for n in _true_nuclides(truth.loc[f]))))
    predicted = table["nuclides"].fillna("").map(lambda s: "+".join(sorted(n for n in str(s).split("+") if n)))
    table = table.assign(truth=true_sets, exact=(predicted.to_numpy() == np.asarray(true_sets)))
    sources = table[table["truth"] != ""]
    if sources.empty:
        raise ValueError("detection curve: no test spectrum with a source among the predictions")
    low, high = np.log10(sources["source_counts"].clip(lower=1.0)).agg(["min", "max"])
    edges = 10 ** (np.arange(np.floor(low * bins_per_decade), np.ceil(high * bins_per_decade) + 1) / bins_per_decade)
    rows = []
    for lo, hi in itertools.pairwise(edges):
        part = sources[(sources["source_counts"] >= lo) & (sources["source_counts"] < hi)]
        rows.append({"source_counts_low": lo, "source_counts_high": hi, **_rates(part["has_source"], part["exact"])})
    background = table[table["truth"] == ""]
    rows.append(
        {"source_counts_low": 0.0, "source_counts_high": 0.0, **_rates(background["has_source"], background["exact"])}
    )
    out = pd.DataFrame(rows)
    out.insert(0, "group", ["sources"] * (len(out) - 1) + ["background"])
    return out[out["spectra"] > 0].reset_index(drop=True)


def _true_nuclides(row: pd.Series) -> list[str]:
    return [c.removeprefix("activity_bq_") for c, v in row.items() if c.startswith("activity_bq_") and v > 0]


def _rates(detected: pd.Series, exact: pd.Series) -> dict[str, float]:
    n = len(detected)
    p_detect = float(detected.mean()) if n else np.nan
    p_exact = float(exact.mean()) if n else np.nan
    return {
        "spectra": n,
        "detection_probability": p_detect,
        "detection_sd": float(np.sqrt(p_detect * (1 - p_detect) / n)) if n else np.nan,
        "exact_match": p_exact,
        "exact_match_sd": float(np.sqrt(p_exact * (1 - p_exact) / n)) if n else np.nan,
    }
