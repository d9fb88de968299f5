"""The non-ML ``sigma`` detection: a spectrum holds a source when its count rate exceeds a measured reference
background by k standard deviations, over the whole spectrum (the original's) or in any line window."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fingerprintml.gamma.detector import fwhm_kev
from fingerprintml.io import write_arrays


@dataclass
class Reference:
    """A reference background from measured background spectra (1 keV bins): mean rate per bin, and the
    spectrum-to-spectrum spread of the rate beyond Poisson counting, for the total and per window."""

    mean_rate: np.ndarray
    windows: np.ndarray
    total_extra_sd: float
    window_extra_sd: np.ndarray

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to an ``.npz`` file atomically."""
        write_arrays(path, **self.__dict__)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Reference:
        with np.load(path) as data:
            return cls(**{key: data[key] for key in data.files})


def line_windows(lines: pd.DataFrame, resolution: dict[str, float], cap_kev: int, half_width_fwhm: float) -> np.ndarray:
    """(n_bins, n_windows) 0/1 matrix of the windows E +- half_width_fwhm * FWHM(E) around each source line."""
    energy = lines["energy_kev"].to_numpy()
    energy = energy[energy < cap_kev]
    half = half_width_fwhm * fwhm_kev(energy, resolution)
    centres = np.arange(cap_kev) + 0.5
    return ((centres[:, None] >= energy - half) & (centres[:, None] <= energy + half)).astype(float)


def _extra_sd(rates: np.ndarray, live_time: np.ndarray) -> np.ndarray:
    """Spread of background rates beyond the Poisson part, per column of ``rates`` (n_spectra, n_columns)."""
    poisson_var = (rates.mean(axis=0)[None, :] / live_time[:, None]).mean(axis=0)
    return np.sqrt(np.maximum(rates.var(axis=0, ddof=1) - poisson_var, 0.0))


def reference(counts: np.ndarray, live_time: np.ndarray, windows: np.ndarray) -> Reference:
    """Reference background from background-only spectra (1 keV counts and live times)."""
    if len(counts) < 2:
        raise ValueError("the sigma method needs at least two background spectra")
    rates = counts / live_time[:, None]
    return Reference(
        mean_rate=rates.mean(axis=0),
        windows=windows,
        total_extra_sd=float(_extra_sd(rates.sum(axis=1, keepdims=True), live_time)[0]),
        window_extra_sd=_extra_sd(rates @ windows, live_time),
    )


def _z(rate: np.ndarray, reference_rate: np.ndarray, live_time: np.ndarray, extra_sd: np.ndarray) -> np.ndarray:
    variance = reference_rate / live_time + extra_sd**2
    return (rate - reference_rate) / np.sqrt(np.maximum(variance, 1e-12))


def total_score(counts: np.ndarray, live_time: np.ndarray, ref: Reference) -> np.ndarray:
    """Excess of the total count rate over the reference, in standard deviations."""
    rate = counts.sum(axis=1) / live_time
    return _z(rate, ref.mean_rate.sum(), live_time, ref.total_extra_sd)


def window_score(counts: np.ndarray, live_time: np.ndarray, ref: Reference) -> np.ndarray:
    """Largest excess over the reference among the line windows, in standard deviations."""
    rate = counts @ ref.windows / live_time[:, None]
    z = _z(rate, (ref.mean_rate @ ref.windows)[None, :], live_time[:, None], ref.window_extra_sd[None, :])
    return z.max(axis=1)
