"""The ML identifier and the peak-based identification side by side, and their combination.

Per nuclide, a logistic regression on the multilabel model's probability (as a logit), the nuclide's peak
significance (asinh: linear near zero, logarithmic for strong sources) and whether the peak identification reports
it gives a calibrated probability; for "a source is present" the same on the binary model's probability, the
largest peak significance of the nuclides and whether any is reported. The regressions are fitted on validation
spectra drawn like the test ones (weak sources and background spectra), never on the test spectra. A source is
reported where its probability reaches a threshold chosen on the validation background spectra for a target false
alarm rate (Neyman-Pearson; the probability itself is calibrated to the validation mixture, where sources are the
majority, so 0.5 would raise many false alarms); a nuclide where its probability reaches ``threshold``. Each
method's answer (has_source, nuclides) is kept beside the reported one, and :func:`method_metrics` scores them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from fingerprintml.gamma.metrics import detection_curve
from fingerprintml.gamma.models import logit

METHODS = ("ml", "peaks", "combined")
PREFIXES = {"ml": "ml", "peaks": "peak", "combined": "combined"}
# Model probabilities of exactly 0 or 1 (a random forest's vote) are kept finite as logits.
PROBABILITY_FLOOR = 1e-4


@dataclass(frozen=True)
class CombineSettings:
    """The combination's logistic regressions: ``regularization`` (scikit-learn's C, inverse L2 strength), the
    probability ``threshold`` at which a nuclide is reported, and the ``false_alarm_rate`` the source threshold
    keeps on the validation background spectra (at least ``threshold``)."""

    regularization: float = 1.0
    threshold: float = 0.5
    false_alarm_rate: float = 0.01


def peak_table(limits: pd.DataFrame, files: Sequence[str], nuclides: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """(files x nuclides) peak significance and source flag (reported, not attributed to the background) from the
    per-nuclide table of :func:`identify.identify_spectra`; a file or nuclide it does not score is an error naming
    them."""
    table = limits.set_index(["file", "nuclide"])
    index = pd.MultiIndex.from_product([list(files), list(nuclides)])
    missing = index.difference(table.index)
    if len(missing):
        first = ", ".join(map(" ".join, missing[:5]))
        raise ValueError(f"the peak identification scored no {first} (of {len(missing)} file and nuclide pairs)")
    shape = (len(files), len(nuclides))
    significance = table["significance"].reindex(index).to_numpy(dtype=float).reshape(shape)
    flags = table[["reported", "background"]].reindex(index).astype(str).apply(lambda c: c.str.lower().eq("true"))
    reported = (flags["reported"] & ~flags["background"]).to_numpy().reshape(shape)  # sources, not background
    return significance, reported


def _features(probability: np.ndarray, significance: np.ndarray, reported: np.ndarray) -> np.ndarray:
    return np.column_stack([logit(probability, PROBABILITY_FLOOR), np.arcsinh(significance), reported.astype(float)])


class Combiner:
    """Logistic regressions stacking the models' probabilities on the peak significances (module docstring)."""

    def __init__(self, nuclides: Sequence[str], settings: CombineSettings | None = None) -> None:
        self.nuclides = list(nuclides)
        self.settings = settings or CombineSettings()
        self.source: LogisticRegression | None = None
        self.per_nuclide: list[LogisticRegression] = []
        self.source_threshold = self.settings.threshold

    def _regression(self, x: np.ndarray, y: np.ndarray, what: str) -> LogisticRegression:
        if len(np.unique(y)) < 2:
            raise ValueError(f"combination: the validation spectra hold only one class of {what}: cannot fit it")
        return LogisticRegression(C=self.settings.regularization, max_iter=1000).fit(x, y)

    def fit(
        self,
        source_probability: np.ndarray,
        nuclide_probability: np.ndarray,
        significance: np.ndarray,
        reported: np.ndarray,
        labels: np.ndarray,
    ) -> Combiner:
        """Fit on validation spectra: the models' probabilities, the peak significances and reported flags (files x
        nuclides) and the true 0/1 labels (files x nuclides)."""
        labels = np.asarray(labels).astype(int)
        has_source = labels.any(axis=1)
        x_source = _features(source_probability, significance.max(axis=1), reported.any(axis=1))
        self.source = self._regression(x_source, has_source.astype(int), "source presence")
        background = np.sort(self.source.predict_proba(x_source[~has_source])[:, 1])[::-1]
        allowed = int(np.floor(self.settings.false_alarm_rate * len(background)))
        if allowed < len(background):  # just above the background score that would be one false alarm too many
            self.source_threshold = max(self.settings.threshold, float(np.nextafter(background[allowed], 1.0)))
        self.per_nuclide = [
            self._regression(
                _features(nuclide_probability[:, k], significance[:, k], reported[:, k]), labels[:, k], nuclide
            )
            for k, nuclide in enumerate(self.nuclides)
        ]
        return self

    def predict_proba(
        self,
        source_probability: np.ndarray,
        nuclide_probability: np.ndarray,
        significance: np.ndarray,
        reported: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The combined probability that a source is present, and per nuclide (files x nuclides)."""
        if self.source is None:
            raise ValueError("the combination is not fitted")
        source = self.source.predict_proba(
            _features(source_probability, significance.max(axis=1), reported.any(axis=1))
        )[:, 1]
        per_nuclide = np.column_stack(
            [
                model.predict_proba(_features(nuclide_probability[:, k], significance[:, k], reported[:, k]))[:, 1]
                for k, model in enumerate(self.per_nuclide)
            ]
        )
        return source, per_nuclide


def method_answers(
    files: Sequence[str],
    ml: tuple[np.ndarray, list[list[str]]],
    peaks: tuple[np.ndarray, np.ndarray],
    combiner: Combiner,
    nuclide_probability: np.ndarray,
) -> pd.DataFrame:
    """Each method's answer per spectrum: ``ml_has_source``, ``ml_nuclides`` (the models: ``ml`` is the binary
    probability and the identified nuclides), ``peak_has_source`` (a nuclide reported by the peaks: ``peaks`` is
    the significance and reported flags), ``combined_p_source``, ``combined_p_<nuclide>``, ``combined_has_source``
    (at the source threshold) and ``combined_nuclides`` (the nuclides at the threshold where a source is)."""
    source_probability, identified = ml
    significance, reported = peaks
    threshold, source_threshold = combiner.settings.threshold, combiner.source_threshold
    p_source, p_nuclides = combiner.predict_proba(source_probability, nuclide_probability, significance, reported)
    table = pd.DataFrame(
        {
            "file": list(files),
            "ml_has_source": (source_probability >= 0.5).astype(int),
            "ml_nuclides": ["+".join(found) for found in identified],
            "peak_has_source": reported.any(axis=1).astype(int),
            "combined_p_source": p_source,
        }
    )
    for k, nuclide in enumerate(combiner.nuclides):
        table[f"combined_p_{nuclide}"] = p_nuclides[:, k]
    table["combined_has_source"] = (p_source >= source_threshold).astype(int)
    names = np.array(combiner.nuclides)
    table["combined_nuclides"] = [
        "+".join(names[row >= threshold]) if source >= source_threshold else ""
        for source, row in zip(p_source, p_nuclides, strict=True)
    ]
    return table


def method_predictions(predictions: pd.DataFrame, method: str) -> pd.DataFrame:
    """``file``, ``has_source`` and ``nuclides`` of one method (``METHODS``) from a predictions table with the
    per-method columns."""
    prefix = PREFIXES[method]
    missing = {f"{prefix}_has_source", f"{prefix}_nuclides"} - set(predictions.columns)
    if missing:
        raise ValueError(f"the predictions lack the columns {sorted(missing)} of the method {method!r}")
    return pd.DataFrame(
        {
            "file": predictions["file"],
            "has_source": predictions[f"{prefix}_has_source"].astype(int),
            "nuclides": predictions[f"{prefix}_nuclides"].fillna("").astype(str),
        }
    )


def method_metrics(
    predictions: pd.DataFrame, labels: pd.DataFrame, weak: pd.Series, nuclides: Sequence[str], reported: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per method, over all test spectra, those at the training activities and the weak sources (``weak``: by
    file; a subset without spectra is left out): binary accuracy, precision and recall, exact nuclide-set match,
    micro and macro F1, ``reported`` (the method whose answer is the predictions' has_source and nuclides); and per
    method, subset and nuclide: precision, recall, F1 and support."""
    labels = labels.set_index("file")
    overall, per_nuclide = [], []
    for method in METHODS:
        answer = method_predictions(predictions, method).set_index("file")
        for subset, files in (
            ("all", answer.index),
            ("training activities", answer.index[~weak.reindex(answer.index).fillna(False).astype(bool)]),
            ("weak sources", answer.index[weak.reindex(answer.index).fillna(False).astype(bool)]),
        ):
            if not len(files):
                continue
            truth = labels.loc[files, list(nuclides)].to_numpy().astype(int)
            found = answer.loc[files, "nuclides"].str.split("+")
            predicted = np.array([[int(n in f) for n in nuclides] for f in found]).reshape(truth.shape)
            has_source = labels.loc[files, "has_source"].to_numpy().astype(int)
            detected = answer.loc[files, "has_source"].to_numpy()
            precision, recall, _, _ = precision_recall_fscore_support(
                has_source, detected, average="binary", zero_division=0
            )
            overall.append(
                {
                    "method": method,
                    "subset": subset,
                    "reported": method == reported,
                    "binary_accuracy": accuracy_score(has_source, detected),
                    "binary_precision": precision,
                    "binary_recall": recall,
                    "exact_match": accuracy_score(truth, predicted),
                    "f1_micro": f1_score(truth, predicted, average="micro", zero_division=0),
                    "f1_macro": f1_score(truth, predicted, average="macro", zero_division=0),
                    "n": len(files),
                }
            )
            p, r, f, s = precision_recall_fscore_support(truth, predicted, zero_division=0)
            per_nuclide += [
                {
                    "method": method,
                    "subset": subset,
                    "nuclide": n,
                    "precision": p[k],
                    "recall": r[k],
                    "f1": f[k],
                    "support": int(s[k]),
                }
                for k, n in enumerate(nuclides)
            ]
    return pd.DataFrame(overall), pd.DataFrame(per_nuclide)


def detection_curves(predictions: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """:func:`metrics.detection_curve` of each method with its columns in ``predictions`` (a ``method`` column
    first); predictions without per-method columns (no peak identification) are the models' ('ml')."""
    methods = [m for m in METHODS if f"{PREFIXES[m]}_has_source" in predictions.columns]
    curves = [
        detection_curve(method_predictions(predictions, m) if methods else predictions, truth).assign(method=m)
        for m in methods or ["ml"]
    ]
    table = pd.concat(curves, ignore_index=True)
    return table[["method", *[c for c in table.columns if c != "method"]]]
