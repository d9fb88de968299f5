"""Classifying new samples from a user's CSV file (columns ``sample``, ``d18O``, ``d56Fe``; optional measurement
standard deviations ``d18O_sd``, ``d56Fe_sd``)."""

from __future__ import annotations

import csv
import logging
import math
import os

import joblib
import numpy as np
import pandas as pd

from fingerprintml.io import missing_columns_problem
from fingerprintml.isotopes.data import FEATURES, LEVELS, DataFormatError
from fingerprintml.isotopes.evaluate import best_run
from fingerprintml.isotopes.models import node_probabilities, predict_paths
from fingerprintml.isotopes.trust import MC_SD_COLUMNS, TrustLayer, monte_carlo
from fingerprintml.seeds import rng_for

log = logging.getLogger(__name__)

REQUIRED = ["sample", *FEATURES]
# Plausible values (permil) of iron oxides, a wide envelope of the published ones: natural d56Fe (IRMM-014) spans about
# 4 permil (Beard & Johnson 2004, Rev. Mineral. Geochem. 55, 319; IUPAC-CIAAW: -2.9 to +1.36), combustion-derived
# iron oxides reach about -4 (Kurisu et al. 2016, J. Geophys. Res. Atmos. 121); d18O (V-SMOW) of oxides formed from
# waters (meteoric down to about -30) or with air O2 (+23.9, Barkan & Luz 2005, Rapid Commun. Mass Spectrom. 19,
# 3737). NanoTracer's 255 samples span d18O -8.5 to +20.9 and d56Fe -0.92 to +1.00. A value outside is flagged
# (a misplaced decimal point, swapped columns, another reference standard), not dropped.
PLAUSIBLE_RANGES = {"d18O": (-30.0, 35.0), "d56Fe": (-5.0, 3.0)}


def _number(text: str, name: str, problems: list[str], *, sd: bool = False) -> float | None:
    try:
        value = float(text)
    except ValueError:
        problems.append(f"{name} is not a number: {text!r}")
        return None
    if not math.isfinite(value):
        problems.append(f"{name} is not finite: {text!r}")
    elif sd and value < 0:
        problems.append(f"{name} is negative: {text!r}")
    return value


def read_samples(path: str | os.PathLike[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the user's samples; returns the valid rows and the rejected ones (``line, sample, reason``).

    A row with a missing value or text in a number column is rejected with its line number (the header
    is line 1) and logged; a missing column stops with an error naming the file and the column. The optional
    columns ``d18O_sd`` and ``d56Fe_sd`` (measurement standard deviations) are kept when present; a blank cell
    there is NaN (the configured default applies), text or a negative value rejects the row.
    """
    with open(path, newline="", encoding="utf-8-sig") as fh:  # -sig: spreadsheet exports start with a BOM
        reader = csv.DictReader(fh)
        header = [name.strip() for name in reader.fieldnames or []]
        problem = missing_columns_problem(path, header, REQUIRED)
        if problem:
            raise DataFormatError(problem)
        reader.fieldnames = header
        sd_columns = [name for name in MC_SD_COLUMNS if name in header]
        good, bad = [], []
        for row in reader:
            line = reader.line_num
            values, problems = {}, []
            for name in FEATURES:
                text = (row.get(name) or "").strip()
                if not text:
                    problems.append(f"{name} is missing")
                    continue
                values[name] = _number(text, name, problems)
            for name in sd_columns:
                text = (row.get(name) or "").strip()
                values[name] = _number(text, name, problems, sd=True) if text else math.nan
            sample = (row.get("sample") or "").strip() or f"line{line}"
            if problems:
                reason = "; ".join(problems)
                log.warning("%s, line %d (%s): skipped: %s", path, line, sample, reason)
                bad.append({"line": line, "sample": sample, "reason": reason})
            else:
                good.append({"line": line, "sample": sample, **values})
    return (
        pd.DataFrame(good, columns=["line", "sample", *FEATURES, *sd_columns]),
        pd.DataFrame(bad, columns=["line", "sample", "reason"]),
    )


def flag_implausible(samples: pd.DataFrame) -> pd.DataFrame:
    """``samples`` with the column ``outside_plausible_range``: '' or the values outside :data:`PLAUSIBLE_RANGES`
    (e.g. ``d56Fe 14 not in [-5, 3] permil``), each logged as a warning; the sample is still classified.

    Parameters
    ----------
    samples
        Rows with a ``sample`` column and the :data:`FEATURES` columns.
    """
    flags = []
    for row in samples.itertuples(index=False):
        outside = [
            f"{name} {getattr(row, name):g} not in [{low:g}, {high:g}] permil"
            for name, (low, high) in PLAUSIBLE_RANGES.items()
            if not low <= getattr(row, name) <= high
        ]
        if outside:
            log.warning("sample %s: %s: classified, but check the value", row.sample, "; ".join(outside))
        flags.append("; ".join(outside))
    return samples.assign(outside_plausible_range=pd.Series(flags, index=samples.index, dtype=object))


def measurement_sd(samples: pd.DataFrame, default: dict[str, float]) -> np.ndarray:
    """(n, 2) measurement standard deviations: a sample's own ``d18O_sd`` / ``d56Fe_sd``, else ``default`` (per
    isotope, config ``isotopes.predict.sd``)."""
    columns = []
    for feature, name in zip(FEATURES, MC_SD_COLUMNS, strict=True):
        own = samples[name].to_numpy(dtype=float) if name in samples else np.full(len(samples), np.nan)
        columns.append(np.where(np.isnan(own), float(default[feature]), own))
    return np.column_stack(columns) if columns else np.empty((0, len(FEATURES)))


def classify(
    estimator,
    samples: pd.DataFrame,
    run: str,
    trust: TrustLayer | None = None,
    *,
    sd: dict[str, float] | None = None,
    draws: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """Predicted path and per-level probabilities (``prob_<level>``, and ``p_<node>`` of every node) of each sample,
    by the model ``run``; with ``trust`` its columns (:meth:`~fingerprintml.isotopes.trust.TrustLayer.annotate`), and
    with ``draws`` > 0 the measurement uncertainty (the samples' own ``d18O_sd`` / ``d56Fe_sd``, else ``sd``)
    propagated by Monte Carlo (:func:`~fingerprintml.isotopes.trust.monte_carlo`, seeded by ``seed``)."""
    out = samples.copy()
    if samples.empty:
        return out.assign(model=run, **{f"pred_{level}": [] for level in LEVELS})
    X = samples[FEATURES].to_numpy(dtype=float)
    predicted = predict_paths(estimator, X)
    out["model"] = run
    for i, level in enumerate(LEVELS):
        out[f"pred_{level}"] = predicted[:, i]
        out[f"prob_{level}"] = np.nan
    probabilities = node_probabilities(estimator, X)
    for node, values in sorted(probabilities.items()):
        out[f"p_{node}"] = values
    for i, level in enumerate(LEVELS):
        for row, path in enumerate(predicted):
            if path[i]:
                out.loc[out.index[row], f"prob_{level}"] = probabilities[":".join(path[: i + 1])][row]
    if trust is not None:
        out = pd.concat([out, trust.annotate(X, predicted, probabilities).set_index(out.index)], axis=1)
    if draws > 0:
        spread = measurement_sd(samples, sd or {})
        out[MC_SD_COLUMNS] = spread
        mc = monte_carlo(estimator, X, spread, draws, rng_for(seed, "isotopes", "predict", run))
        out = pd.concat([out, mc.set_index(out.index)], axis=1)
    return out


def predict_file(
    path: str | os.PathLike[str],
    models: dict[str, str],
    table: pd.DataFrame,
    run: str | None = None,
    *,
    sd: dict[str, float],
    draws: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The user's samples in ``path`` classified by one fitted run: ``run`` (``model-learner``), or the best of the
    comparison ``table`` when None. ``models`` maps each run to its fitted model file; ``sd``, ``draws`` and ``seed``
    set the Monte Carlo of the measurement uncertainty. Returns the predictions (:func:`classify`, with the run's
    trust layer, flagged by :func:`flag_implausible`) and the rejected rows (:func:`read_samples`)."""
    run = run or best_run(table)
    if run not in models:
        raise ValueError(f"isotopes.predict.model {run!r} is not a run of this dataset; runs: {sorted(models)}")
    samples, rejected = read_samples(path)
    log.info("%s: %d samples read, %d rejected; classifying with %s", path, len(samples), len(rejected), run)
    fitted = joblib.load(models[run])
    predictions = classify(fitted["estimator"], samples, run, fitted["trust"], sd=sd, draws=draws, seed=seed)
    return flag_implausible(predictions), rejected
