"""Identification of measured patterns: preprocessing, ranking, and mixtures by subtract-and-re-identify."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fingerprintml.xrd.patterns import Grid, arpls_baseline, convert_wavelength, normalise, resample

BASELINE_STEP = 0.1  # two-theta step (deg) the configured baseline smoothness refers to
IDENTIFY_COLUMNS = ["query", "component", "rank", "phase_id", "formula", "spacegroup", "score", "weight"]


def prepare_query(
    two_theta: np.ndarray,
    intensity: np.ndarray,
    grid: Grid,
    measured_wavelength: float,
    model_wavelength: float,
    baseline: dict,
) -> np.ndarray:
    """Measured pattern -> model input: two-theta converted to the model's wavelength, resampled onto the grid,
    baseline (arPLS) removed, scaled to a maximum of 1."""
    if measured_wavelength != model_wavelength:
        two_theta = convert_wavelength(two_theta, measured_wavelength, model_wavelength)
        keep = np.isfinite(two_theta)
        two_theta, intensity = two_theta[keep], intensity[keep]
    pattern = resample(grid, two_theta, intensity)
    if baseline["enabled"]:
        inside = (grid.two_theta >= two_theta.min()) & (grid.two_theta <= two_theta.max())
        # The penalty acts on second differences: the same physical smoothness needs lambda ~ step^-4.
        smoothness = baseline["smoothness"] * (BASELINE_STEP / grid.step) ** 4
        pattern[inside] -= arpls_baseline(pattern[inside], smoothness=smoothness)
    return normalise(np.clip(pattern, 0, None)).astype(np.float32)


def identify_mixture(
    pattern: np.ndarray,
    score_fn,
    references: np.ndarray,
    max_phases: int,
    top_k: int,
    residual_threshold: float,
    max_lag: int = 0,
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Identify up to ``max_phases`` phases: rank the pattern, fit the best phase's reference pattern by
    non-negative least squares, subtract it, and re-identify the residual while it keeps at least
    ``residual_threshold`` of the pattern's integrated intensity and names a phase not found yet. The reference is
    first shifted by up to ``max_lag`` grid steps to the best overlap (zero shift, strain).
    Returns per component (top-k indices, their scores, fitted weight)."""
    residual = pattern.astype(float)
    components: list[tuple[np.ndarray, np.ndarray, float]] = []
    for _ in range(max_phases):
        scores = score_fn(normalise(residual)[None].astype(np.float32))[0]
        top = np.argsort(-scores)[:top_k]
        if any(top[0] == found[0][0] for found in components):
            break
        reference = aligned(references[top[0]].astype(float), residual, max_lag)
        weight = max(0.0, float(residual @ reference / (reference @ reference)))
        components.append((top, scores[top], weight))
        residual = np.clip(residual - weight * reference, 0, None)
        if residual.sum() < residual_threshold * pattern.sum():
            break
    return components


def aligned(reference: np.ndarray, pattern: np.ndarray, max_lag: int) -> np.ndarray:
    """``reference`` shifted by the whole number of grid steps (|lag| <= max_lag) that best overlaps ``pattern``."""
    lags = range(-max_lag, max_lag + 1)
    best = max(lags, key=lambda lag: float(np.roll(reference, lag) @ pattern))
    return np.roll(reference, best)


def identify_rows(query: str, components, phases: pd.DataFrame) -> list[dict]:
    rows = []
    for number, (top, scores, weight) in enumerate(components, start=1):
        for rank, (index, score) in enumerate(zip(top, scores, strict=True), start=1):
            phase = phases.iloc[int(index)]
            rows.append(
                {
                    "query": query,
                    "component": number,
                    "rank": rank,
                    "phase_id": phase["phase_id"],
                    "formula": phase["formula"],
                    "spacegroup": phase["spacegroup"],
                    "score": float(score),
                    "weight": weight,
                }
            )
    return rows
