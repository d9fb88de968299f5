"""The ``auto`` query detector: the resolution law of a spectrum fitted to its own strong, isolated peaks, on the
detector preset whose resolution is nearest (its efficiency, peak-to-total and escape physics are kept)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import curve_fit, nnls
from scipy.signal import find_peaks

from fingerprintml.gamma.detector import FWHM_PER_SIGMA, DetectorPreset
from fingerprintml.gamma.peaks import gaussian_on_line
from fingerprintml.gamma.presets import PRESETS
from fingerprintml.gamma.spectrum import Spectrum

PEAK_COLUMNS = ["energy_kev", "fwhm_kev", "fwhm_sd_kev", "net_counts", "significance", "used"]


@dataclass(frozen=True)
class ResolutionFitSettings:
    """How peaks are chosen for the fit: at least ``min_significance`` (net counts over the Poisson sd of the
    peak region), FWHM known to ``max_relative_sd``, no other candidate within ``isolation_fwhm`` FWHM, above
    ``min_energy_kev`` (below it electronic noise and X-ray multiplets dominate); a peak more than
    ``outlier_ratio`` off the law of the nearest preset is left out (backscatter humps, unresolved doublets). With
    fewer than ``min_peaks_law`` peaks, or peaks spanning less than ``min_span`` in energy ratio, only a scale of
    the preset's law is fitted."""

    min_significance: float = 10.0
    max_relative_sd: float = 0.1
    isolation_fwhm: float = 2.0
    min_energy_kev: float = 40.0
    outlier_ratio: float = 1.35
    min_peaks_law: int = 4
    min_span: float = 3.0


def measure_peaks(spectrum: Spectrum, settings: ResolutionFitSettings | None = None) -> pd.DataFrame:
    """Centroid, FWHM (keV, with sd), net counts and significance of the strong peaks of ``spectrum``: candidates
    from the smoothed counts (scipy ``find_peaks`` by prominence), each fitted in channels with a Gaussian on a
    line (Poisson weights), the channel width taken out in quadrature, converted to keV with the spectrum's
    calibration. ``used`` marks the isolated,
    well-measured ones."""
    settings = settings or ResolutionFitSettings()
    counts = np.asarray(spectrum.counts, dtype=float)
    edges = spectrum.channel_energies
    centres = 0.5 * (edges[1:] + edges[:-1])
    smoothed = gaussian_filter1d(counts, 1.5)
    noise = np.sqrt(np.maximum(smoothed, 1.0))
    candidates, props = find_peaks(smoothed, prominence=3 * noise, width=1.5, rel_height=0.5)
    rows = []
    channels = np.arange(len(counts), dtype=float)
    for peak, width in zip(candidates, props["widths"], strict=True):
        sigma0 = max(width / FWHM_PER_SIGMA, 0.7)
        lo, hi = int(max(peak - 4 * sigma0, 0)), int(min(peak + 4 * sigma0 + 1, len(counts)))
        x, y = channels[lo:hi], counts[lo:hi]
        if len(x) < 6 or centres[peak] < settings.min_energy_kev:
            continue
        base = min(y[0], y[-1])
        guess = [max((y - base).sum(), 1.0), float(peak), sigma0, base, 0.0]
        try:
            popt, pcov = curve_fit(gaussian_on_line, x, y, p0=guess, sigma=np.sqrt(np.maximum(y, 1.0)), maxfev=4000)
        except (RuntimeError, ValueError):
            continue
        area, centre, binned_sigma = popt[0], popt[1], abs(popt[2])
        sd = np.sqrt(np.abs(np.diag(pcov)))
        if not (lo < centre < hi - 1 and area > 0 and binned_sigma**2 > 1 / 6 and np.all(np.isfinite(sd))):
            continue
        sigma = np.sqrt(binned_sigma**2 - 1 / 12)  # a Gaussian counted in channels is wider by the channel's box
        slope = float(np.interp(centre, channels, np.gradient(centres)))
        region = gaussian_on_line(x, 0.0, centre, sigma, *popt[3:]).sum() + area
        rows.append(
            {
                "energy_kev": float(np.interp(centre + 0.5, np.arange(len(edges)), edges)),
                "fwhm_kev": FWHM_PER_SIGMA * sigma * slope,
                "fwhm_sd_kev": FWHM_PER_SIGMA * sd[2] * slope,
                "net_counts": float(area),
                "significance": float(area / np.sqrt(max(region, 1.0))),
            }
        )
    peaks = pd.DataFrame(rows, columns=PEAK_COLUMNS[:-1]).sort_values("energy_kev", ignore_index=True)
    gaps = np.diff(peaks["energy_kev"].to_numpy())
    room = settings.isolation_fwhm * peaks["fwhm_kev"].to_numpy()
    isolated = np.ones(len(peaks), dtype=bool)
    isolated[1:] &= gaps > room[1:]
    isolated[:-1] &= gaps > room[:-1]
    peaks["used"] = (
        isolated
        & (peaks["significance"] >= settings.min_significance)
        & (peaks["fwhm_sd_kev"] <= settings.max_relative_sd * peaks["fwhm_kev"])
    )
    return peaks


def nearest_preset(energy_kev: np.ndarray, fwhm_kev: np.ndarray, weight: np.ndarray) -> tuple[str, float]:
    """The preset whose resolution law is nearest to the measured FWHMs and the ratio to it: the ``weight``ed
    median of the log ratios, so the strongest peaks decide and the ratio is that of a measured peak."""

    def log_ratio(name: str) -> float:
        ratios = np.log(fwhm_kev / DetectorPreset.from_config(name).fwhm(energy_kev))
        ranked = np.argsort(ratios)
        return float(ratios[ranked][np.searchsorted(np.cumsum(weight[ranked]) / weight.sum(), 0.5)])

    ratios = {name: log_ratio(name) for name in PRESETS}
    name = min(ratios, key=lambda n: abs(ratios[n]))
    return name, float(np.exp(ratios[name]))


def fit_detector(
    spectrum: Spectrum, settings: ResolutionFitSettings | None = None
) -> tuple[DetectorPreset, pd.DataFrame]:
    """The ``auto`` detector of ``spectrum`` and the peaks measured (:func:`measure_peaks`, ``used`` updated to
    those in the fit). The nearest preset's law, scaled, marks outliers; with enough peaks over a wide enough
    range the law sqrt(a^2 + b^2 E + (c E)^2) is fitted to the FWHMs (non-negative least squares on FWHM^2,
    weighted by the FWHMs' uncertainties), otherwise the preset's law is scaled. A spectrum without a usable
    peak is an error naming it."""
    settings = settings or ResolutionFitSettings()
    peaks = measure_peaks(spectrum, settings)
    used = peaks[peaks["used"]]
    if used.empty:
        raise ValueError(
            f"{spectrum.name or 'spectrum'}: no isolated peak of significance >= {settings.min_significance} "
            f"to fit the detector resolution to; name a preset in gamma.query_detector"
        )
    energy, fwhm, significance = (used[c].to_numpy() for c in ("energy_kev", "fwhm_kev", "significance"))
    base_name, scale = nearest_preset(energy, fwhm, significance)
    base = DetectorPreset.from_config(base_name)
    ratio = fwhm / (scale * base.fwhm(energy))
    keep = (ratio < settings.outlier_ratio) & (ratio > 1 / settings.outlier_ratio)
    peaks.loc[used.index[~keep], "used"] = False
    energy, fwhm, sd = energy[keep], fwhm[keep], used["fwhm_sd_kev"].to_numpy()[keep]
    base_name, scale = nearest_preset(energy, fwhm, significance[keep])
    base = DetectorPreset.from_config(base_name)
    name = f"auto:{base_name}"
    if len(energy) >= settings.min_peaks_law and energy.max() / energy.min() >= settings.min_span:
        weight = 1.0 / (2 * fwhm * np.maximum(sd, 0.01 * fwhm))  # 1 / sd of FWHM^2
        design = np.column_stack([np.ones_like(energy), energy, energy**2]) * weight[:, None]
        (a2, b2, c2), _ = nnls(design, fwhm**2 * weight)
        return base.with_resolution(float(np.sqrt(a2)), float(np.sqrt(b2)), float(np.sqrt(c2)), name), peaks
    resolution = base.block["resolution"]
    law = [scale * resolution[k] for k in ("a", "b", "c")]
    return base.with_resolution(*law, name), peaks
