"""Peak search, peak fit and ISO 11929 limits on a spectrum's channels.

- **Search**: a zero-area second-derivative filter (Mariscotti's idea: a Gaussian's negative second derivative, its
  mean removed over ±4 sigma, so a linear continuum gives zero) of the width of the resolution law at each channel;
  its significance is the filtered value over its Poisson standard deviation (the squared kernel applied to the
  variance). Local maxima at or above ``search_sigma`` are candidate peaks.
- **Fit**: each candidate is fitted with a Gaussian on a linear background (weighted least squares, weights
  1 / max(variance, 1)) over ±``fit_half_width_fwhm`` FWHM; the width is free within ±40 % of the law. The result
  is the centroid, FWHM, net area and their standard uncertainties.
- **ISO 11929** (Poisson counting, background from the peak region's sides): net counts in a region of
  ±``roi_half_width_fwhm`` FWHM (m channels) less the background b estimated from two side regions of
  ``side_width_fwhm`` FWHM each (2l channels); with t = m / 2l the standard uncertainty of the net counts is
  u(y) = sqrt(y + b (1 + t)); the decision threshold y* = k_{1-α} sqrt(b (1 + t)) and the detection limit y# solves
  y# = y* + k_{1-β} u(y#) (y# = 2 y* + k² when k_{1-α} = k_{1-β} = k). All three are divided by the Gaussian's share
  of the region, so they are full-peak counts.

A measured background subtracted before the search (``background``, already scaled to the spectrum's live time) adds
its variance (``background_variance``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import curve_fit
from scipy.special import erf

from fingerprintml.gamma.detector import FWHM_PER_SIGMA

PEAK_COLUMNS = [
    "energy_kev",
    "energy_sd_kev",
    "fwhm_kev",
    "net_counts",
    "net_counts_sd",
    "significance",
    "decision_threshold",
    "detection_limit",
]


@dataclass(frozen=True)
class PeakSettings:
    """Peak search and quantification: ``search_sigma`` the filter significance of a candidate; the fit window
    (``fit_half_width_fwhm``) and the ISO 11929 regions (``roi_half_width_fwhm``, ``side_width_fwhm``), all in FWHM
    of the resolution law; ``k_alpha`` and ``k_beta`` the quantiles of the decision threshold and detection limit;
    ``min_energy_kev`` where the search starts (below: noise and the ADC threshold)."""

    search_sigma: float = 4.0
    fit_half_width_fwhm: float = 2.0
    roi_half_width_fwhm: float = 1.25
    side_width_fwhm: float = 1.0
    k_alpha: float = 1.645
    k_beta: float = 1.645
    min_energy_kev: float = 15.0


@dataclass
class Channels:
    """A spectrum on its channels: counts (net of a subtracted background, so possibly negative), their variance
    and the channel-edge energies (keV)."""

    counts: np.ndarray
    variance: np.ndarray
    edges: np.ndarray

    @property
    def centres(self) -> np.ndarray:
        """Energy (keV) of each channel's centre."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    def channel(self, energy: np.ndarray | float) -> np.ndarray:
        """Fractional channel (centre = index) of ``energy``."""
        return np.interp(energy, self.centres, np.arange(len(self.counts), dtype=float))

    def kev_per_channel(self, energy: np.ndarray | float) -> np.ndarray:
        """Channel width (keV) at ``energy``."""
        return np.interp(energy, self.centres, np.diff(self.edges))


def channels_of(
    counts: np.ndarray,
    edges: np.ndarray,
    background: np.ndarray | None = None,
    background_variance: np.ndarray | None = None,
) -> Channels:
    """:class:`Channels` of ``counts`` on ``edges`` less ``background`` (counts on the same channels, scaled to the
    spectrum) whose variance is ``background_variance`` (default: the background counts)."""
    counts = np.asarray(counts, dtype=float)
    variance = counts.copy()
    if background is not None:
        background = np.asarray(background, dtype=float)
        if background.shape != counts.shape:
            raise ValueError(f"background of {background.shape} channels for a spectrum of {counts.shape}")
        counts = counts - background
        variance = variance + (background if background_variance is None else np.asarray(background_variance))
    return Channels(counts, np.maximum(variance, 0.0), np.asarray(edges, dtype=float))


def _kernel(sigma: float) -> np.ndarray:
    half = max(int(np.ceil(4 * sigma)), 2)
    k = np.arange(-half, half + 1, dtype=float)
    kernel = (1 - k**2 / sigma**2) * np.exp(-(k**2) / (2 * sigma**2))
    return kernel - kernel.mean()


def filter_significance(spectrum: Channels, sigma_channels: np.ndarray) -> np.ndarray:
    """Significance of the second-derivative filter per channel, the filter width at each channel being
    ``sigma_channels`` (Gaussian sigma in channels, interpolated over a log-spaced set of widths)."""
    widths = np.geomspace(0.6, max(float(sigma_channels.max()), 0.7) * 1.1, 24)
    chosen = np.clip(np.searchsorted(widths, sigma_channels), 0, len(widths) - 1)
    significance = np.zeros(len(spectrum.counts))
    for j in np.unique(chosen):
        kernel = _kernel(widths[j])
        value = np.convolve(spectrum.counts, kernel, mode="same")
        sd = np.sqrt(np.maximum(np.convolve(spectrum.variance, kernel**2, mode="same"), 1.0))
        at = chosen == j
        significance[at] = (value / sd)[at]
    return significance


def gaussian_on_line(x: np.ndarray, area: float, centre: float, sigma: float, b0: float, b1: float) -> np.ndarray:
    """A peak of net ``area`` (counts) at ``centre`` with width ``sigma`` on the line b0 + b1 (x - centre)."""
    return area * np.exp(-0.5 * ((x - centre) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma) + b0 + b1 * (x - centre)


def region_limits(
    spectrum: Channels, energy: float, fwhm: float, settings: PeakSettings
) -> tuple[float, float, float, float]:
    """ISO 11929 at ``energy``: (net counts in the region of ±roi FWHM, its standard uncertainty, decision threshold,
    detection limit), all as full-peak counts (the region's Gaussian share divided out)."""
    centre = float(spectrum.channel(energy))
    width = fwhm / float(spectrum.kev_per_channel(energy))
    half = max(settings.roi_half_width_fwhm * width, 1.0)
    side = max(settings.side_width_fwhm * width, 1.0)
    n = len(spectrum.counts)
    lo, hi = int(np.floor(centre - half + 0.5)), int(np.floor(centre + half + 0.5))
    left = slice(max(int(np.floor(lo - side)), 0), max(lo, 0))
    right = slice(min(hi + 1, n), min(int(np.ceil(hi + 1 + side)), n))
    lo, hi = max(lo, 0), min(hi, n - 1)
    m, two_l = hi - lo + 1, (left.stop - left.start) + (right.stop - right.start)
    if m <= 0 or two_l <= 0:
        return np.nan, np.nan, np.nan, np.nan
    t = m / two_l
    gross = spectrum.counts[lo : hi + 1].sum()
    side_counts = spectrum.counts[left].sum() + spectrum.counts[right].sum()
    side_variance = spectrum.variance[left].sum() + spectrum.variance[right].sum()
    gross_variance = spectrum.variance[lo : hi + 1].sum()
    background = t * side_counts
    net = gross - background
    null_variance = max(gross_variance - net, 0.0) + t**2 * side_variance  # u²(0): gross variance with no peak
    share = erf((m / 2) / (width / FWHM_PER_SIGMA) / np.sqrt(2))
    threshold = settings.k_alpha * np.sqrt(null_variance)
    limit = detection_limit(threshold, null_variance, settings.k_beta)
    return net / share, np.sqrt(gross_variance + t**2 * side_variance) / share, threshold / share, limit / share


def detection_limit(threshold: float, null_variance: float, k_beta: float) -> float:
    """ISO 11929 detection limit of net counts: y# = y* + k_{1-β} sqrt(y# + u²(0)) (Poisson: the gross variance
    grows by the net counts), solved in closed form; y# = 2 y* + k² when k_{1-α} = k_{1-β} = k."""
    k2 = k_beta**2
    return float(threshold + k2 / 2 + np.sqrt(k2**2 / 4 + k2 * (threshold + null_variance)))


def fit_peak(spectrum: Channels, energy: float, fwhm: float, settings: PeakSettings) -> dict[str, float] | None:
    """Gaussian + linear background fit near ``energy`` with the law's ``fwhm`` (free within ±40 %): centroid,
    FWHM, net area and their uncertainties (None when the fit fails or leaves the window)."""
    centre = float(spectrum.channel(energy))
    width = fwhm / float(spectrum.kev_per_channel(energy))
    sigma = width / FWHM_PER_SIGMA
    half = max(settings.fit_half_width_fwhm * width, 3.0)
    lo, hi = max(int(centre - half), 0), min(int(np.ceil(centre + half)) + 1, len(spectrum.counts))
    if hi - lo < 6:
        return None
    x = np.arange(lo, hi, dtype=float)
    y, var = spectrum.counts[lo:hi], np.maximum(spectrum.variance[lo:hi], 1.0)
    base = 0.5 * (y[:2].mean() + y[-2:].mean())
    guess = [max((y - base).sum(), 1.0), centre, sigma, base, 0.0]
    bounds = (
        [-np.inf, centre - width, 0.6 * sigma, -np.inf, -np.inf],
        [np.inf, centre + width, 1.4 * sigma, np.inf, np.inf],
    )
    try:
        values, covariance = curve_fit(
            gaussian_on_line, x, y, p0=guess, sigma=np.sqrt(var), absolute_sigma=True, bounds=bounds
        )
    except (RuntimeError, ValueError):
        return None
    errors = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    if not np.all(np.isfinite(errors)):
        return None
    peak_energy = float(np.interp(values[1], np.arange(len(spectrum.centres)), spectrum.centres))
    keV = float(spectrum.kev_per_channel(peak_energy))
    return {
        "energy_kev": peak_energy,
        "energy_sd_kev": float(errors[1] * keV),
        "fwhm_kev": float(values[2] * FWHM_PER_SIGMA * keV),
        "net_counts": float(values[0]),
        "net_counts_sd": float(errors[0]),
    }


def search(spectrum: Channels, fwhm: Callable[[np.ndarray], np.ndarray], settings: PeakSettings) -> pd.DataFrame:
    """Peaks of ``spectrum`` with the resolution law ``fwhm`` (keV as a function of keV): the fitted ones whose net
    area is at least ``search_sigma`` standard uncertainties and above the ISO 11929 decision threshold
    (``PEAK_COLUMNS``, by energy)."""
    centres = spectrum.centres
    sigma_channels = np.asarray(fwhm(np.maximum(centres, 1.0))) / spectrum.kev_per_channel(centres) / FWHM_PER_SIGMA
    significance = filter_significance(spectrum, sigma_channels)
    rows = []
    for index in _local_maxima(significance, sigma_channels, settings.search_sigma):
        if centres[index] < settings.min_energy_kev:
            continue
        law = float(fwhm(centres[index]))
        fitted = fit_peak(spectrum, float(centres[index]), law, settings)
        if fitted is None or fitted["net_counts"] <= 0:
            continue
        z = fitted["net_counts"] / max(fitted["net_counts_sd"], 1e-9)
        net, _, threshold, limit = region_limits(spectrum, fitted["energy_kev"], law, settings)
        if z >= settings.search_sigma and net > threshold:
            rows.append({**fitted, "significance": z, "decision_threshold": threshold, "detection_limit": limit})
    table = pd.DataFrame(rows, columns=PEAK_COLUMNS)
    if table.empty:
        return table
    table = table.sort_values("significance", ascending=False)
    keep = []  # one peak per FWHM: fits of neighbouring maxima that converge on the same peak
    for row in table.itertuples():
        if all(abs(row.energy_kev - table.at[k, "energy_kev"]) > 0.5 * row.fwhm_kev for k in keep):
            keep.append(row.Index)
    return table.loc[keep].sort_values("energy_kev").reset_index(drop=True)


def _local_maxima(values: np.ndarray, half_window: np.ndarray, threshold: float) -> np.ndarray:
    above = np.flatnonzero(values >= threshold)
    keep = []
    for i in above:
        w = max(int(np.ceil(half_window[i])), 1)
        if values[i] >= values[max(i - w, 0) : i + w + 1].max():
            keep.append(i)
    return np.array(keep, dtype=int)


def estimate_resolution(
    spectrum: Channels,
    default: Callable[[np.ndarray], np.ndarray],
    settings: PeakSettings,
    min_peaks: int = 3,
    scale_above_kev: float = 100.0,
) -> tuple[Callable[[np.ndarray], np.ndarray], int]:
    """The resolution law FWHM² = a + b E fitted to the strong peaks of ``spectrum`` (found with the ``default``
    law, each width free within ±40 % of it, twice so the widths can move further), and the number of peaks it
    rests on; with fewer than ``min_peaks`` strong peaks, the law scaled by the median width ratio of those above
    ``scale_above_kev`` (none: the law as it is)."""
    law, used = default, 0
    strong_settings = PeakSettings(**{**settings.__dict__, "search_sigma": 10.0})
    for _ in range(3):
        strong = search(spectrum, law, strong_settings)
        if strong.empty:
            return law, used
        energy, width = strong["energy_kev"].to_numpy(), strong["fwhm_kev"].to_numpy()
        if len(strong) < min_peaks:
            above = energy >= scale_above_kev  # X-ray peaks are often blends: they do not set the scale
            if not above.any():
                return law, used
            law, used = _scaled(law, float(np.median(width[above] / law(energy[above])))), int(above.sum())
            continue
        design = np.column_stack([np.ones_like(energy), energy])
        keep = np.ones(len(energy), bool)
        for _ in range(3):  # drop multiplets and annihilation peaks (too wide for the law) by clipping
            coef, *_ = np.linalg.lstsq(design[keep], width[keep] ** 2, rcond=None)
            residual = width**2 - design @ coef
            scale = 1.4826 * np.median(np.abs(residual[keep])) + 1e-12
            keep = np.abs(residual) <= 3 * scale
        if coef[1] <= 0:  # one energy region only: the widths' scale, not their slope
            law, used = _scaled(law, float(np.median(width[keep] / law(energy[keep])))), int(keep.sum())
            continue
        law, used = _law(float(coef[0]), float(coef[1]), float(np.min(width[keep])) * 0.5), int(keep.sum())
    return law, used


def _scaled(law: Callable[[np.ndarray], np.ndarray], ratio: float) -> Callable[[np.ndarray], np.ndarray]:
    def fwhm(energy: np.ndarray) -> np.ndarray:
        return ratio * law(energy)

    return fwhm


def _law(a: float, b: float, floor: float) -> Callable[[np.ndarray], np.ndarray]:
    def fwhm(energy: np.ndarray) -> np.ndarray:
        return np.sqrt(np.maximum(a + b * np.asarray(energy, dtype=float), floor**2))

    return fwhm
