"""Benchmark of the identification on measured patterns whose names give the truth (the ``dara`` datasets): per
scan length, for the patterns whose every weighed phase has a reference CIF and for those with a phase outside the
library, the weighed phases found, patterns with no phase reported that is not in the mixture, the weight-fraction
error, the missing phase left as unexplained peaks, the network's candidates, and how the reported confidence
matches the observed frequency."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from pymatgen.core import Composition

from fingerprintml.calibration import expected_calibration_error, reliability
from fingerprintml.xrd.dara import MixtureTruth, is_weighed_phase, mixture_truth
from fingerprintml.xrd.identify import IdentifySettings, prepare_query, read_query
from fingerprintml.xrd.model import Identifier
from fingerprintml.xrd.patterns import Grid, Preprocessing
from fingerprintml.xrd.train import predict_logits

BENCHMARK_COLUMNS = [
    "scan",
    "set",
    "patterns",
    "phases_found",
    "phases_weighed",
    "found",
    "clean_patterns",
    "clean",
    "wf_mae_wt",
    "unexplained_patterns",
    "network_top_k",
    "network_found",
    "network_median_rank",
    "reported_phases",
    "mean_confidence",
    "correct_share",
]
# A query rejected for this reason reported no phase and left all its peaks unexplained
# (fingerprintml.xrd.identify.identify_folder).
NOTHING_EXPLAINED = "no library phase explains the pattern"


def network_ranks(
    files: Sequence[str | os.PathLike[str]],
    model: Identifier,
    device: torch.device,
    *,
    grid: Grid,
    wavelength: float,
    settings: IdentifySettings,
    preprocessing: Preprocessing,
) -> dict[str, np.ndarray]:
    """Per query file name, the network's rank (1 = best) of each of its classes, as the identification ranks
    them (:func:`fingerprintml.xrd.identify.prepare_query`) before the whole-pattern fit."""
    ranks = {}
    for path in files:
        two_theta, counts, radiation = read_query(Path(path), settings.query_radiation)
        query = prepare_query(two_theta, counts, grid, radiation.kalpha1, wavelength, preprocessing)
        order = np.argsort(-predict_logits(model, query[None], device)[0])
        ranks[Path(path).name] = np.argsort(order) + 1
    return ranks


def _referenced(truth: MixtureTruth, reference_formulas: set[str]) -> set[str]:
    return {f for f in truth.fractions if Composition(f).reduced_formula in reference_formulas}


def measured_benchmark(
    identify: pd.DataFrame,
    rejects: pd.DataFrame,
    phases: pd.DataFrame,
    references: Sequence[str],
    *,
    ranks: dict[str, np.ndarray] | None = None,
    top_k: int = 10,
    bins: int = 10,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The benchmark table (:data:`BENCHMARK_COLUMNS`, a row per scan length and set: ``referenced`` when every
    weighed phase has a reference CIF, else ``open``) and the reliability table of the reported confidence against
    the reported phase being a weighed one (with the ECE over all patterns in its ``ece`` column). The network columns
    count the referenced weighed phases ranked within ``top_k`` by the network and give their median rank (the best
    rank among the library phases that are the weighed one).

    Parameters
    ----------
    identify, rejects
        identify.csv and identify_rejects.csv of the measured queries (named as dara's files).
    phases
        The model's classes (the library's phases table in class order): formula and space group of each.
    references
        Source ids of the reference CIFs (the library without decoys): their formulas make a phase referenced.
    ranks
        Per query, the network's rank of each class (:func:`network_ranks`); without it the network columns are
        empty.
    top_k
        A weighed phase is among the network's candidates when one of its phases ranks within ``top_k``.
    bins
        Equal-width confidence bins of the reliability table.
    """
    reference_formulas = set(phases.loc[phases["source_id"].isin(references), "formula"])
    reported = identify[identify["rank"] == 1]
    queries = sorted({*identify["query"], *rejects["query"]})
    per_query = []
    for query in queries:
        truth = mixture_truth(query)
        referenced = _referenced(truth, reference_formulas)
        rows = reported[reported["query"] == query]
        matched: dict[str, float] = {}
        confidence, correct = [], []
        for row in rows.itertuples():
            weighed = is_weighed_phase(row.formula, row.spacegroup, truth)
            confidence.append(float(row.confidence))
            correct.append(weighed is not None)
            if weighed is not None:
                matched[weighed] = matched.get(weighed, 0.0) + float(row.weight_fraction)
        false = not all(correct)
        reason = rejects.loc[rejects["query"] == query, "reason"]
        unexplained = (
            (rows["unexplained_peaks"].fillna("") != "").any()
            if len(rows)
            else (reason.str.contains(NOTHING_EXPLAINED).any())
        )
        best: dict[str, float] = {}
        if ranks is not None:
            kinds = list(zip(phases["formula"], phases["spacegroup"], strict=True))
            best = {
                weighed: min(
                    (
                        r
                        for r, kind in zip(ranks[query], kinds, strict=True)
                        if is_weighed_phase(*kind, truth) == weighed
                    ),
                    default=np.inf,
                )
                for weighed in referenced
            }
        per_query.append(
            {
                "scan": truth.scan,
                "set": "referenced" if referenced == set(truth.fractions) else "open",
                "found": len(referenced & set(matched)),
                "weighed": len(referenced),
                "clean": not false,
                "errors": [abs(matched.get(f, 0.0) - w) * 100 for f, w in truth.fractions.items()],
                "unexplained": bool(unexplained) and not false,
                "network": list(best.values()),
                "confidence": confidence,
                "correct": correct,
            }
        )
    frame = pd.DataFrame(per_query)
    table = []
    for (scan, kind), group in frame.groupby(["scan", "set"], sort=False):
        errors = [e for errs in group["errors"] for e in errs] if kind == "referenced" else []
        flat_confidence = [c for cs in group["confidence"] for c in cs]
        flat_correct = [c for cs in group["correct"] for c in cs]
        table.append(
            {
                "scan": scan,
                "set": kind,
                "patterns": len(group),
                "phases_found": int(group["found"].sum()),
                "phases_weighed": int(group["weighed"].sum()),
                "found": group["found"].sum() / max(1, group["weighed"].sum()),
                "clean_patterns": int(group["clean"].sum()),
                "clean": group["clean"].mean(),
                "wf_mae_wt": np.mean(errors) if errors else np.nan,
                "unexplained_patterns": int(group["unexplained"].sum()) if kind == "open" else np.nan,
                "network_top_k": top_k if ranks is not None else np.nan,
                "network_found": sum(r <= top_k for rs in group["network"] for r in rs)
                if ranks is not None
                else np.nan,
                "network_median_rank": np.median([r for rs in group["network"] for r in rs] or [np.nan]),
                "reported_phases": len(flat_correct),
                "mean_confidence": np.mean(flat_confidence) if flat_confidence else np.nan,
                "correct_share": np.mean(flat_correct) if flat_correct else np.nan,
            }
        )
    table = pd.DataFrame(table, columns=BENCHMARK_COLUMNS).sort_values(["set", "scan"], ascending=[False, False])
    confidence_array = np.array([c for cs in frame["confidence"] for c in cs], dtype=float)
    correct_array = np.array([c for cs in frame["correct"] for c in cs], dtype=float)
    known = np.isfinite(confidence_array)
    bins_table = reliability(confidence_array[known], correct_array[known], bins)
    bins_table["ece"] = (
        expected_calibration_error(confidence_array[known], correct_array[known], bins) if known.any() else np.nan
    )
    return table.reset_index(drop=True), bins_table
