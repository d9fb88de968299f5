"""Features of 1 keV count-rate spectra per energy slice: AVERAGE (mean rate) and LINFIT (slope and intercept of
a straight line fitted to the slice by closed-form least squares); their scaling is the models' first step."""

from __future__ import annotations

from typing import Any

import numpy as np

METHODS = ("average", "linfit")


def slices(rates: np.ndarray, width_kev: int) -> np.ndarray:
    """(n, n_bins) rates as (n, n_slices, width) slices; the bins must divide into whole slices."""
    n_bins = rates.shape[-1]
    if n_bins % width_kev:
        raise ValueError(f"slice width {width_kev} keV does not divide the {n_bins} keV spectrum into whole slices")
    return rates.reshape(rates.shape[0], n_bins // width_kev, width_kev)


def average(rates: np.ndarray, width_kev: int) -> np.ndarray:
    """Mean count rate of each slice: (n, n_bins / width)."""
    return slices(rates, width_kev).mean(axis=-1)


def linfit(rates: np.ndarray, width_kev: int) -> np.ndarray:
    """Least-squares line y = intercept + slope * x per slice, x = 0 .. width-1 the bin index within the slice
    (so the slope is in rate per keV and the intercept is the line's value at the slice's first bin).

    Closed form for all slices at once: slope = sum((x - mean x) y) / sum((x - mean x)^2),
    intercept = mean y - slope * mean x. Returns (n, 2 * n_slices): slope and intercept of each slice in turn.
    """
    y = slices(rates, width_kev)
    x = np.arange(width_kev, dtype=float)
    centred = x - x.mean()
    slope = y @ centred / (centred @ centred)
    intercept = y.mean(axis=-1) - slope * x.mean()
    return np.stack([slope, intercept], axis=-1).reshape(len(rates), -1)


def compute(rates: np.ndarray, settings: dict[str, Any]) -> np.ndarray:
    """Features of ``settings['method']`` with slices of ``settings['slice_kev']`` keV."""
    if settings["method"] == "average":
        return average(rates, settings["slice_kev"])
    if settings["method"] == "linfit":
        return linfit(rates, settings["slice_kev"])
    raise ValueError(f"unknown feature method {settings['method']!r}; choose one of {METHODS}")
