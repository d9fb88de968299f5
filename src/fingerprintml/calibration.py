"""Calibration measures of predicted probabilities shared by the studies (isotopes, particles, xrd): reliability
bins and the expected calibration error (ECE)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int) -> pd.DataFrame:
    """Reliability diagram data: per equal-width confidence bin its edges, count, mean confidence and accuracy."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, bins - 1)
    rows = []
    for b in range(bins):
        inside = which == b
        rows.append(
            {
                "bin": b,
                "lower": edges[b],
                "upper": edges[b + 1],
                "count": int(inside.sum()),
                "confidence": float(confidence[inside].mean()) if inside.any() else np.nan,
                "accuracy": float(correct[inside].mean()) if inside.any() else np.nan,
            }
        )
    return pd.DataFrame(rows)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int) -> float:
    """Top-label ECE (Guo et al. 2017): the count-weighted mean |accuracy - confidence| over equal-width bins."""
    table = reliability(np.asarray(confidence, dtype=float), np.asarray(correct, dtype=float), bins)
    filled = table[table["count"] > 0]
    return float((filled["count"] * (filled["accuracy"] - filled["confidence"]).abs()).sum() / len(confidence))
