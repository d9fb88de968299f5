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

**Continuum** (``continuum_fwhm`` > 0): a gross scintillator spectrum's continuum is curved (the rise above the
threshold, the backscatter bump, Compton edges) on the scale of a few FWHM, where a line between two side regions is
wrong. It is estimated by SNIP (``pybaselines.smooth.snip``: iterative clipping of each point to the mean of its
neighbours at shrinking distances, on the log-log-sqrt transform of the counts) on an axis where the resolution law's
FWHM is constant, so one clipping window of ``continuum_fwhm`` FWHM removes every peak and keeps every structure broader
than that. The search filters and fits the counts less that continuum (the fit's line takes what is left); the ISO 11929
background of a region is the line between its side regions plus the continuum's departure from its own line between
them (the level from the data, unbiased by the clipping; the curvature from the model). The curvature is a model's: its
uncertainty, in u²(0) and u²(y), is how much it changes when the clipping window is doubled (small on a smooth
exponential fall, large on a bump a few FWHM wide, which a wider window clips further). A spectrum less a measured
background (``channels_of`` with ``background``) keeps the line: the subtraction has taken the curved environmental
continuum away, and SNIP on net counts near zero would follow their noise.

**Scattering features**: a found peak at the Compton edge or the backscatter energy of a stronger found peak, with
less than ``scatter_fraction`` of its counts, is that feature, not a line (:func:`scatter_features`). The 511 keV
annihilation line is searched with its Doppler broadening (:func:`with_annihilation`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pybaselines.smooth import snip
from scipy.optimize import curve_fit
from scipy.special import erf

from fingerprintml.gamma.detector import ELECTRON_MASS_KEV, FWHM_PER_SIGMA

# Doppler broadening (FWHM) of the 511 keV annihilation line in solids: about 2-3 keV (positrons annihilating with
# moving electrons), twice an HPGe's resolution there and negligible beside a scintillator's.
ANNIHILATION_DOPPLER_FWHM_KEV = 2.5
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
    ``min_energy_kev`` where the search starts (below: noise and the ADC threshold); ``continuum_fwhm`` the SNIP
    continuum's clipping half-window in FWHM (0: a line between the side regions, as for a net spectrum);
    ``scatter_fraction`` the largest share of a peak's counts a peak at its Compton edge or backscatter energy may
    have to be taken for that feature (:func:`scatter_features`)."""

    search_sigma: float = 4.0
    fit_half_width_fwhm: float = 2.0
    roi_half_width_fwhm: float = 1.25
    side_width_fwhm: float = 1.0
    k_alpha: float = 1.645
    k_beta: float = 1.645
    min_energy_kev: float = 15.0
    continuum_fwhm: float = 1.25
    scatter_fraction: float = 0.25


@dataclass
class Channels:
    """A spectrum on its channels: counts (net of a subtracted background, so possibly negative), their variance,
    the channel-edge energies (keV), whether a background was subtracted (``net``) and the continuum under the peaks
    (:func:`continuum`; None: linear between the side regions) with its shift when the clipping window is doubled
    (``continuum_shift``, the model's uncertainty)."""

    counts: np.ndarray
    variance: np.ndarray
    edges: np.ndarray
    continuum: np.ndarray | None = None
    net: bool = False
    continuum_shift: np.ndarray | None = None

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
    return Channels(counts, np.maximum(variance, 0.0), np.asarray(edges, dtype=float), net=background is not None)


def continuum(
    spectrum: Channels, fwhm: Callable[[np.ndarray], np.ndarray], half_window_fwhm: float, points_per_fwhm: int = 4
) -> np.ndarray:
    """The continuum under the peaks of ``spectrum`` (counts per channel): SNIP with a clipping half-window of
    ``half_window_fwhm`` FWHM of the law ``fwhm``, run on the log-log-sqrt transform of the counts (gross counts:
    negative ones count as zero) rebinned to ``points_per_fwhm`` bins per FWHM
    (the axis u(E) = ∫ dE / FWHM(E), where every peak has the same width) and mapped back to the channels through
    the cumulative counts, so the rebinning conserves counts both ways."""
    edges = spectrum.edges
    width = np.asarray(fwhm(np.maximum(0.5 * (edges[1:] + edges[:-1]), 1.0)), dtype=float)
    u = np.concatenate([[0.0], np.cumsum(np.diff(edges) / width)]) * points_per_fwhm
    grid = np.arange(0.0, u[-1] + 1.0)
    grid[-1] = u[-1]
    cumulative = np.concatenate([[0.0], np.cumsum(spectrum.counts)])
    rebinned = np.diff(np.interp(grid, u, cumulative)) / np.diff(grid)  # counts per unit bin of u
    half_window = max(round(half_window_fwhm * points_per_fwhm), 1)
    # log-log-sqrt: a strong peak compressed to a few times its continuum, so the clipping removes it (Morháč)
    lls = np.log(np.log(np.sqrt(np.maximum(rebinned, 0.0) + 1) + 1) + 1)
    clipped, _ = snip(lls, max_half_window=half_window, decreasing=True, smooth_half_window=1)
    baseline = (np.exp(np.exp(clipped) - 1) - 1) ** 2 - 1
    return np.diff(np.interp(u, grid, np.concatenate([[0.0], np.cumsum(baseline * np.diff(grid))])))


def with_annihilation(fwhm: Callable[[np.ndarray], np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """The resolution law ``fwhm`` with the 511 keV annihilation line's Doppler broadening added in quadrature within
    two widths of it (the positron annihilates with moving electrons: ANNIHILATION_DOPPLER_FWHM_KEV)."""

    def widened(energy: np.ndarray) -> np.ndarray:
        near = near_annihilation(energy, fwhm)
        return np.sqrt(np.asarray(fwhm(energy), dtype=float) ** 2 + near * ANNIHILATION_DOPPLER_FWHM_KEV**2)

    return widened


def near_annihilation(energy: np.ndarray | float, fwhm: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Whether ``energy`` is within two widths (the law's plus the Doppler broadening) of 511 keV."""
    reach = 2 * (float(fwhm(ELECTRON_MASS_KEV)) + ANNIHILATION_DOPPLER_FWHM_KEV)
    return np.abs(np.asarray(energy, dtype=float) - ELECTRON_MASS_KEV) <= reach


def with_continuum(spectrum: Channels, fwhm: Callable[[np.ndarray], np.ndarray], settings: PeakSettings) -> Channels:
    """``spectrum`` with its :func:`continuum` for the law ``fwhm`` (widened at 511 keV: :func:`with_annihilation`)
    and the continuum's shift with twice the window; ``spectrum`` as it is when ``settings.continuum_fwhm`` is 0 or
    it is ``net`` of a background."""
    if settings.continuum_fwhm <= 0 or spectrum.net:
        return spectrum
    fwhm = with_annihilation(fwhm)
    baseline = continuum(spectrum, fwhm, settings.continuum_fwhm)
    shift = continuum(spectrum, fwhm, 2 * settings.continuum_fwhm) - baseline
    return Channels(spectrum.counts, spectrum.variance, spectrum.edges, baseline, continuum_shift=shift)


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


@dataclass(frozen=True)
class _Region:
    """Channels of an ISO 11929 region (``lo``..``hi``) and its side regions, t = m / 2l, and the Gaussian's share of
    the region."""

    lo: int
    hi: int
    left: slice
    right: slice
    t: float
    share: float

    def bend(self, continuum: np.ndarray) -> float:
        """Counts of ``continuum`` in the region beyond its line between the side regions (its curvature)."""
        sides = continuum[self.left].sum() + continuum[self.right].sum()
        return float(continuum[self.lo : self.hi + 1].sum() - self.t * sides)


def _region(spectrum: Channels, energy: float, fwhm: float, settings: PeakSettings) -> _Region | None:
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
        return None
    share = float(erf((m / 2) / (width / FWHM_PER_SIGMA) / np.sqrt(2)))
    return _Region(lo, hi, left, right, m / two_l, share)


def continuum_uncertainty(spectrum: Channels, energy: float, fwhm: float, settings: PeakSettings) -> float:
    """Standard uncertainty (full-peak counts) of the continuum model's curvature under the ISO 11929 region at
    ``energy``: its change when the clipping window is doubled (0 without a continuum model)."""
    region = _region(spectrum, energy, fwhm, settings)
    if region is None or spectrum.continuum_shift is None:
        return 0.0
    return abs(region.bend(spectrum.continuum_shift)) / region.share


def region_limits(
    spectrum: Channels, energy: float, fwhm: float, settings: PeakSettings
) -> tuple[float, float, float, float]:
    """ISO 11929 at ``energy``: (net counts in the region of ±roi FWHM, its standard uncertainty, decision threshold,
    detection limit), all as full-peak counts (the region's Gaussian share divided out). The background is the side
    regions' counts times t, plus, with the spectrum's ``continuum``, that continuum's curvature (its counts in the
    region less t times its counts in the sides), whose uncertainty (:func:`continuum_uncertainty`) enters the
    variances."""
    region = _region(spectrum, energy, fwhm, settings)
    if region is None:
        return np.nan, np.nan, np.nan, np.nan
    lo, hi, left, right, t = region.lo, region.hi, region.left, region.right, region.t
    gross = spectrum.counts[lo : hi + 1].sum()
    side_counts = spectrum.counts[left].sum() + spectrum.counts[right].sum()
    side_variance = spectrum.variance[left].sum() + spectrum.variance[right].sum()
    gross_variance = spectrum.variance[lo : hi + 1].sum()
    background = t * side_counts
    if spectrum.continuum is not None:
        background += region.bend(spectrum.continuum)
    model_variance = (continuum_uncertainty(spectrum, energy, fwhm, settings) * region.share) ** 2
    net = gross - background
    # u²(0): the gross variance with no peak, the sides' and the continuum model's
    null_variance = max(gross_variance - net, 0.0) + t**2 * side_variance + model_variance
    threshold = settings.k_alpha * np.sqrt(null_variance)
    limit = detection_limit(threshold, null_variance, settings.k_beta)
    sd = np.sqrt(gross_variance + t**2 * side_variance + model_variance)
    share = region.share
    return net / share, sd / share, threshold / share, limit / share


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
    area is at least ``search_sigma`` standard uncertainties (the fit's and the continuum model's) and above the
    ISO 11929 decision threshold (``PEAK_COLUMNS``, by energy). Filter and fits see the counts less the spectrum's
    continuum (computed for ``fwhm`` when it has none and ``settings.continuum_fwhm`` > 0), and ``fwhm`` widened at
    511 keV (:func:`with_annihilation`); peaks that are another's Compton edge or backscatter peak are left out."""
    centres = spectrum.centres
    if spectrum.continuum is None:
        spectrum = with_continuum(spectrum, fwhm, settings)
    fwhm = with_annihilation(fwhm)
    sigma_channels = np.asarray(fwhm(np.maximum(centres, 1.0))) / spectrum.kev_per_channel(centres) / FWHM_PER_SIGMA
    above = spectrum
    if spectrum.continuum is not None:
        above = Channels(spectrum.counts - spectrum.continuum, spectrum.variance, spectrum.edges, net=True)
    significance = filter_significance(above, sigma_channels)
    rows = []
    for index in _local_maxima(significance, sigma_channels, settings.search_sigma):
        if centres[index] < settings.min_energy_kev:
            continue
        law = float(fwhm(centres[index]))
        fitted = fit_peak(above, float(centres[index]), law, settings)
        if fitted is None or fitted["net_counts"] <= 0:
            continue
        model_sd = continuum_uncertainty(spectrum, fitted["energy_kev"], law, settings)
        fitted["net_counts_sd"] = float(np.hypot(fitted["net_counts_sd"], model_sd))
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
    table = table.loc[keep].sort_values("energy_kev").reset_index(drop=True)
    return table[~scatter_features(table, settings.scatter_fraction)].reset_index(drop=True)


def scatter_features(peaks: pd.DataFrame, fraction: float) -> np.ndarray:
    """Which of ``peaks`` are the Compton edge (E·2ε/(1+2ε), ε = E/mc²) or the backscatter peak (E/(1+2ε)) of a
    found peak of energy E rather than lines: within an FWHM of one and with less than ``fraction`` of that
    peak's net counts (the scattered photons of a line are a share of its full-energy counts; a line at the same
    energy as strong as that is kept)."""
    energy, area, width = (peaks[c].to_numpy(dtype=float) for c in ("energy_kev", "net_counts", "fwhm_kev"))
    scatter = np.zeros(len(peaks), bool)
    for e, a in zip(energy, area, strict=True):
        eps = e / ELECTRON_MASS_KEV
        for feature in (e * 2 * eps / (1 + 2 * eps), e / (1 + 2 * eps)):
            scatter |= (np.abs(energy - feature) <= width) & (area < fraction * a)
    return scatter


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
    law above a continuum of four times ``settings.continuum_fwhm``, each width free within ±40 % of it, twice so the
    widths can move further), and the number of peaks it
    rests on; with fewer than ``min_peaks`` strong peaks, the law scaled by the median width ratio of those above
    ``scale_above_kev`` (none: the law as it is)."""
    law, used = default, 0
    # The default law is a guess (a file's gain may be off several times): a continuum clipped at its width would
    # take wider true peaks for continuum, so the strong peaks are searched above one of a window four times wider.
    strong_settings = PeakSettings(
        **{**settings.__dict__, "search_sigma": 10.0, "continuum_fwhm": 4 * settings.continuum_fwhm}
    )
    for _ in range(3):
        strong = search(spectrum, law, strong_settings)
        strong = strong[~near_annihilation(strong["energy_kev"].to_numpy(), law)]  # Doppler broadened, not the law
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
