"""Patterns on the model's two-theta grid: sticks deposited, measured patterns read and resampled, baselines removed."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.linalg import spsolve

from fingerprintml.xrd.plan import grid_points

PATTERN_SUFFIXES = (".xy", ".xye", ".csv", ".xrdml")


@dataclass(frozen=True)
class Grid:
    """A two-theta grid: ``start`` to ``stop`` (inclusive) in ``step`` degrees."""

    start: float
    stop: float
    step: float

    @property
    def size(self) -> int:
        return grid_points(self.start, self.stop, self.step)

    @property
    def two_theta(self) -> np.ndarray:
        return self.start + self.step * np.arange(self.size)

    @classmethod
    def from_config(cls, config: dict) -> Grid:
        return cls(float(config["start"]), float(config["stop"]), float(config["step"]))


def deposit_sticks(grid: Grid, two_theta: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """Put sticks on the grid, each split linearly between its two neighbouring grid points (intensity conserved);
    sticks outside the grid are dropped."""
    position = (np.asarray(two_theta) - grid.start) / grid.step
    inside = (position >= 0) & (position <= grid.size - 1)
    position, weight = position[inside], np.asarray(intensity)[inside]
    left = np.minimum(np.floor(position).astype(np.int64), grid.size - 2)
    fraction = position - left
    out = np.bincount(left, weights=weight * (1 - fraction), minlength=grid.size)
    out += np.bincount(left + 1, weights=weight * fraction, minlength=grid.size)
    return out


class PatternReadError(ValueError):
    """A measured pattern file that cannot be used."""


def read_measured_pattern(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Two-theta and intensity from the first two numeric columns of an .xy/.xye/.csv file (comment lines with
    # or ! and a header row allowed; further columns ignored), or the counts of a Panalytical .xrdml scan.
    Raises :class:`PatternReadError` naming the problem."""
    path = Path(path)
    if path.suffix.lower() == ".xrdml":
        from fingerprintml.xrd.xrdml import read_xrdml  # xrdml imports this module for its error class

        scan = read_xrdml(path)
        return scan.two_theta, scan.counts
    if path.suffix.lower() not in PATTERN_SUFFIXES:
        raise PatternReadError(f"{path.name}: unsupported suffix (expected one of {PATTERN_SUFFIXES})")
    separator = "," if path.suffix.lower() == ".csv" else r"\s+"
    try:
        table = pd.read_csv(path, sep=separator, header=None, comment="#", engine="python", dtype=str)
    except (pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise PatternReadError(f"{path.name}: no readable data ({error.__class__.__name__})") from error
    if table.shape[1] < 2:
        raise PatternReadError(f"{path.name}: needs two columns (two-theta, intensity), found {table.shape[1]}")
    numbers = table.iloc[:, :2].apply(pd.to_numeric, errors="coerce")
    if numbers.iloc[0].isna().any():  # a header row
        numbers = numbers.iloc[1:]
    if numbers.isna().any().any():
        row = int(numbers.isna().any(axis=1).to_numpy().argmax()) + 1
        raise PatternReadError(f"{path.name}: non-numeric value in the first two columns near data row {row}")
    data = numbers.to_numpy(dtype=float)
    if len(data) < 10:
        raise PatternReadError(f"{path.name}: only {len(data)} data points")
    two_theta, intensity = data[:, 0], data[:, 1]
    if not np.all(np.diff(two_theta) > 0):
        order = np.argsort(two_theta)
        two_theta, intensity = two_theta[order], intensity[order]
        if np.any(np.diff(two_theta) == 0):
            raise PatternReadError(f"{path.name}: repeated two-theta values")
    if not np.isfinite(intensity).all():
        raise PatternReadError(f"{path.name}: non-finite intensities")
    return two_theta, intensity


def resample(grid: Grid, two_theta: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """Linear interpolation onto the grid; zero outside the measured range."""
    return np.interp(grid.two_theta, two_theta, intensity, left=0.0, right=0.0)


def convert_wavelength(two_theta: np.ndarray, measured: float, model: float) -> np.ndarray:
    """Two-theta of the same d spacings at the model's wavelength (Bragg's law); unreachable angles become NaN."""
    sin_theta = np.sin(np.radians(two_theta) / 2) * model / measured
    with np.errstate(invalid="ignore"):
        return np.degrees(2 * np.arcsin(np.where(sin_theta <= 1, sin_theta, np.nan)))


def arpls_baseline(y: np.ndarray, smoothness: float = 1e5, ratio: float = 1e-3, max_iter: int = 50) -> np.ndarray:
    """Baseline by asymmetrically reweighted penalized least squares (arPLS; Baek, Park, Ahn & Choo, Analyst 140,
    250, 2015): a second-difference smoother whose weights drop on points above the baseline (peaks)."""
    n = len(y)
    difference = sparse.diags([1.0, -2.0, 1.0], [0, 1, 2], shape=(n - 2, n), format="csc")
    penalty = smoothness * (difference.T @ difference)
    weights = np.ones(n)
    baseline = y
    for _ in range(max_iter):
        baseline = spsolve(sparse.diags(weights, format="csc") + penalty, weights * y)
        residual = y - baseline
        below = residual[residual < 0]
        if len(below) < 2:
            break
        mean, std = below.mean(), below.std()
        new_weights = 1.0 / (1.0 + np.exp(np.clip(2 * (residual - (2 * std - mean)) / std, -50, 50)))
        if np.linalg.norm(weights - new_weights) / np.linalg.norm(weights) < ratio:
            break
        weights = new_weights
    return baseline


def normalise(pattern: np.ndarray) -> np.ndarray:
    """Scale to a maximum of 1 (all-zero patterns stay zero)."""
    top = pattern.max(axis=-1, keepdims=True)
    return pattern / np.where(top > 0, top, 1.0)
