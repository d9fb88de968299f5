"""Patterns on the model's two-theta grid: sticks deposited, measured patterns read and checked, and the one
preprocessing that makes a training pattern or a measured query the network's input."""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pybaselines.utils import ParameterWarning
from pybaselines.whittaker import arpls

from fingerprintml.xrd.plan import grid_points

PATTERN_SUFFIXES = (".xy", ".xye", ".csv", ".xrdml")
MIN_POINTS = 10  # data points a measured pattern needs, and grid points it must cover
# Counts are never negative; a pattern with more negative points than this fraction is a background-subtracted or
# shifted export, whose peak heights the identification cannot trust.
MAX_NEGATIVE_FRACTION = 0.05
BASELINE_STEP = 0.1  # two-theta step (deg) the configured baseline smoothness refers to


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
        check_pattern(path.name, scan.two_theta, scan.counts)
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
    if len(data) < MIN_POINTS:
        raise PatternReadError(f"{path.name}: only {len(data)} data points (at least {MIN_POINTS} needed)")
    two_theta, intensity = data[:, 0], data[:, 1]
    check_pattern(path.name, two_theta, intensity)
    return two_theta, intensity


def check_pattern(name: str, two_theta: np.ndarray, intensity: np.ndarray) -> None:
    """Refuse, naming the file ``name``, what is not a powder pattern in counts against two-theta: non-finite
    values, two-theta outside (0, 180) degrees or not strictly increasing (a d-spacing or q axis, a merged or
    reversed file), intensities all <= 0, or more than MAX_NEGATIVE_FRACTION of them negative."""
    if not (np.isfinite(two_theta).all() and np.isfinite(intensity).all()):
        raise PatternReadError(f"{name}: non-finite two-theta or intensity values")
    if two_theta.min() <= 0 or two_theta.max() >= 180:
        raise PatternReadError(
            f"{name}: two-theta from {two_theta.min():g} to {two_theta.max():g} is outside (0, 180) degrees"
            " (the first column must be two-theta in degrees, not d spacing or q)"
        )
    steps = np.diff(two_theta)
    if not (steps > 0).all():
        row = int(np.argmax(steps <= 0)) + 2
        raise PatternReadError(
            f"{name}: two-theta does not increase at data row {row} ({two_theta[row - 2]:g} then"
            f" {two_theta[row - 1]:g}); a decreasing first column is usually d spacing, not two-theta"
        )
    if (intensity <= 0).all():
        raise PatternReadError(f"{name}: every intensity is <= 0 (no counts)")
    negative = float((intensity < 0).mean())
    if negative > MAX_NEGATIVE_FRACTION:
        raise PatternReadError(
            f"{name}: {negative:.0%} of the intensities are negative (counts cannot be; give the raw counts, not a"
            " background-subtracted or shifted export)"
        )


def measured_points(grid: Grid, two_theta: np.ndarray) -> np.ndarray:
    """Whether each grid point lies within the measured range ``two_theta`` (to a millionth of a step, so that a
    pattern written on the grid and read back covers the same points)."""
    tolerance = 1e-6 * grid.step
    return (grid.two_theta >= two_theta[0] - tolerance) & (grid.two_theta <= two_theta[-1] + tolerance)


def resample(grid: Grid, two_theta: np.ndarray, intensity: np.ndarray) -> np.ndarray:
    """Linear interpolation onto the grid; zero outside the measured range (:func:`measured_points`)."""
    inside = measured_points(grid, two_theta)
    return np.where(inside, np.interp(grid.two_theta, two_theta, intensity), 0.0)


def convert_wavelength(two_theta: np.ndarray, measured: float, model: float) -> np.ndarray:
    """Two-theta of the same d spacings at the model's wavelength (Bragg's law); unreachable angles become NaN."""
    sin_theta = np.sin(np.radians(two_theta) / 2) * model / measured
    with np.errstate(invalid="ignore"):
        return np.degrees(2 * np.arcsin(np.where(sin_theta <= 1, sin_theta, np.nan)))


@dataclass(frozen=True)
class Preprocessing:
    """How a pattern becomes the network's input (``xrd.preprocessing``): arPLS baseline removal (on or off, its
    smoothness lambda at a BASELINE_STEP grid), and the partial ranges training copies are cut to: a
    ``crop_fraction`` of them lose up to ``crop_max`` of the grid's span at each end."""

    baseline: bool
    smoothness: float
    crop_fraction: float
    crop_max: float

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Preprocessing:
        return cls(
            baseline=bool(config["baseline"]["enabled"]),
            smoothness=float(config["baseline"]["smoothness"]),
            crop_fraction=float(config["range_crop"]["fraction"]),
            crop_max=float(config["range_crop"]["max_cut"]),
        )


def preprocess(two_theta: np.ndarray, intensity: np.ndarray, grid: Grid, settings: Preprocessing) -> np.ndarray:
    """The network input (float32 on ``grid``) of a pattern measured at ``two_theta`` (increasing, at the model's
    wavelength): resampled onto the grid, zero outside the measured range, the baseline removed within it by
    arPLS (Baek, Park, Ahn & Choo, Analyst 140, 250, 2015; pybaselines), negative values set to 0, scaled to a
    maximum of 1. Training patterns and measured queries both come here. Raises :class:`PatternReadError` when
    the range covers fewer than MIN_POINTS grid points."""
    inside = measured_points(grid, two_theta)
    if inside.sum() < MIN_POINTS:
        raise PatternReadError(
            f"two-theta {two_theta[0]:g}-{two_theta[-1]:g} deg covers {int(inside.sum())} points of the model's grid"
            f" {grid.start:g}-{grid.stop:g} deg (at least {MIN_POINTS} needed; is the first column d spacing?)"
        )
    pattern = resample(grid, two_theta, intensity)
    if settings.baseline:
        # The penalty acts on second differences: the same physical smoothness needs lambda ~ step^-4.
        smoothness = settings.smoothness * (BASELINE_STEP / grid.step) ** 4
        with warnings.catch_warnings():  # arPLS stopping early on a pattern with a flat, noiseless baseline
            warnings.simplefilter("ignore", ParameterWarning)
            pattern[inside] -= arpls(pattern[inside], lam=smoothness)[0]
    return normalise(np.clip(pattern, 0, None)).astype(np.float32)


def crop_ranges(count: int, grid: Grid, settings: Preprocessing, rng: np.random.Generator) -> np.ndarray:
    """Measured grid-index ranges [first, stop) of ``count`` training copies: a ``crop_fraction`` of them cut at
    each end by a uniform share (up to ``crop_max``) of the grid, the others the whole grid."""
    cut = rng.uniform(0, settings.crop_max, (count, 2)) * (rng.random((count, 1)) < settings.crop_fraction)
    first = np.floor(cut[:, 0] * grid.size).astype(np.int64)
    return np.column_stack([first, grid.size - np.floor(cut[:, 1] * grid.size).astype(np.int64)])


def network_inputs(
    patterns: np.ndarray, grid: Grid, settings: Preprocessing, ranges: np.ndarray | None = None
) -> np.ndarray:
    """:func:`preprocess` of each simulated pattern (N, grid.size) over its measured grid-index range [first,
    stop) of ``ranges`` (N, 2), or over the whole grid."""
    out = np.empty(np.shape(patterns), dtype=np.float32)
    for row, pattern in enumerate(patterns):
        first, stop = (0, grid.size) if ranges is None else ranges[row]
        out[row] = preprocess(grid.two_theta[first:stop], pattern[first:stop], grid, settings)
    return out


def normalise(pattern: np.ndarray) -> np.ndarray:
    """Scale to a maximum of 1 (all-zero patterns stay zero)."""
    top = pattern.max(axis=-1, keepdims=True)
    return pattern / np.where(top > 0, top, 1.0)
