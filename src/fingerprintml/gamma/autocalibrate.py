"""Energy calibration from a spectrum's own peaks, for a file without a calibration (or with a wrong one).

:func:`refine_calibration` corrects the file's energy scale from the peaks the identifier found, matched to one
library nuclide's strong lines (the identifier calls it after a first pass and identifies again on the corrected
scale). :func:`calibrate_from_peaks` calibrates a spectrum from scratch: becquerel's ``PeakFinder`` (a Gaussian
peak filter whose FWHM scales as sqrt(channel)) finds the peaks and its ``AutoCalibrator`` finds the gain that
matches them to the given line energies; a polynomial of the requested order (with offset) is then fitted by least
squares to the matched (centroid, energy) pairs and its residuals reported.
Centroids are channel centres (channel + 0.5), the polynomial maps channel edges as :class:`Spectrum` does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from fingerprintml.gamma.spectrum import Spectrum, SpectrumError, polynomial_calibration


def calibrate_from_peaks(
    spectrum: Spectrum,
    lines_kev: list[float],
    reference_channel: float,
    fwhm_channels: float,
    order: int = 1,
    min_snr: float = 8.0,
    gain_range: tuple[float, float] = (1e-3, 10.0),
    de_max_kev: float = 5.0,
) -> tuple[Spectrum, pd.DataFrame]:
    """``spectrum`` calibrated from its peaks matched to ``lines_kev``, and the fit's residual table.

    Parameters: ``lines_kev`` the lines the spectrum must show (at least ``order + 1`` of them matched);
    ``reference_channel`` and ``fwhm_channels`` the detector's peak width (FWHM in channels at that channel) for
    the peak filter; ``order`` of the fitted polynomial; ``min_snr`` the peak finder's significance threshold;
    ``gain_range`` (keV per channel) and ``de_max_kev`` (largest mismatch of a matched line) for the gain search.
    Returns the spectrum with the fitted calibration (a note says so) and a table of line_kev, centroid_channel,
    fitted_kev, residual_kev. Raises :class:`SpectrumError` naming the spectrum when the peaks do not match.
    """
    import becquerel

    counts = becquerel.Spectrum(counts=np.asarray(spectrum.counts, dtype=float), livetime=spectrum.live_time)
    kernel = becquerel.GaussianPeakFilter(reference_channel, fwhm_channels, fwhm_at_0=1.0)
    finder = becquerel.PeakFinder(counts, kernel)
    autocal = becquerel.AutoCalibrator(finder)
    try:
        finder.find_peaks(min_snr=min_snr, max_num=40)
        with contextlib.redirect_stdout(io.StringIO()):  # the gain search prints its result
            autocal.fit(sorted(lines_kev), gain_range=gain_range, de_max=de_max_kev)
    except (becquerel.PeakFinderError, becquerel.AutoCalibratorError, ValueError) as error:
        raise SpectrumError(
            f"{spectrum.name}: its {len(finder.centroids)} peaks (SNR >= {min_snr:g}) match no gain to the lines "
            f"{sorted(lines_kev)} keV ({error})"
        ) from error
    centroids, energies = np.asarray(autocal.fit_channels, float), np.asarray(autocal.fit_energies, float)
    if len(centroids) < order + 1:
        raise SpectrumError(f"{spectrum.name}: {len(centroids)} matched lines cannot fix a polynomial of order {order}")
    coefficients = np.polynomial.polynomial.polyfit(centroids, energies, order)
    calibration, higher_order = polynomial_calibration(spectrum.name, list(coefficients), len(spectrum.counts))
    fitted = np.polynomial.polynomial.polyval(centroids, coefficients)
    residuals = pd.DataFrame(
        {"line_kev": energies, "centroid_channel": centroids, "fitted_kev": fitted, "residual_kev": fitted - energies}
    )
    note = (
        f"calibration fitted to {len(centroids)} peaks (order {order}, coefficients "
        f"{np.round(coefficients, 9).tolist()}, largest residual {np.abs(fitted - energies).max():.3g} keV)"
    )
    calibrated = dataclasses.replace(
        spectrum, calibration=calibration, higher_order=higher_order, notes=[*spectrum.notes, note]
    )
    return calibrated, residuals


@dataclasses.dataclass(frozen=True)
class CalibrationFit:
    """A correction of a spectrum's energy scale: the corrected energy is the polynomial ``coefficients``
    (increasing powers) of the energy the file's calibration gives, within the file energies of the matched peaks
    (``span``), and beyond them on its chord over the span (a quadratic fitted to 30-400 keV must not bend
    1,332 keV). ``pairs``
    are the matched peaks it was fitted to (nuclide, line_kev, peak_file_kev, peak_kev, residual_kev: corrected
    peak less line); ``rescaled`` says whether the file's gain was replaced (a free gain search) rather than
    corrected within the bound."""

    coefficients: np.ndarray
    span: tuple[float, float]
    pairs: pd.DataFrame
    rescaled: bool

    def __call__(self, energy: np.ndarray) -> np.ndarray:
        """Corrected energies (keV) of file energies ``energy``."""
        energy = np.asarray(energy, dtype=float)
        polynomial = np.polynomial.Polynomial(self.coefficients)
        low, high = self.span
        chord = (polynomial(high) - polynomial(low)) / (high - low)
        inside = np.clip(energy, low, high)
        return polynomial(inside) + chord * (energy - inside)


def _candidate_maps(
    energy: np.ndarray, line: np.ndarray, bound: np.ndarray, max_gain: float, max_gain_error: float, rescale: bool
) -> np.ndarray:
    """Rows (a, b) of maps E' = a + b E to try: with ``rescale`` the gains through each (peak, line) pair within
    1 / ``max_gain`` to ``max_gain``; else the identity first, then the shifts and the lines through one or two
    (peak, line) pairs closer than ``bound`` (per peak), of gain within ``max_gain_error`` of one."""
    if rescale:
        gain = (line[None, :] / energy[:, None]).ravel()
        gain = np.unique(gain[(gain >= 1 / max_gain) & (gain <= max_gain)])
        return np.column_stack([np.zeros_like(gain), gain])
    i, k = np.nonzero(np.abs(line[None, :] - energy[:, None]) <= bound[:, None])
    maps = [np.array([[0.0, 1.0]]), np.column_stack([line[k] - energy[i], np.ones(len(i))])]
    first, second = np.triu_indices(len(i), 1)
    rising = (energy[i[second]] > energy[i[first]]) & (line[k[second]] > line[k[first]])
    first, second = first[rising], second[rising]
    slope = (line[k[second]] - line[k[first]]) / (energy[i[second]] - energy[i[first]])
    near = np.abs(slope - 1) <= max_gain_error
    maps.append(np.column_stack([line[k[first]] - slope * energy[i[first]], slope])[near])
    return np.concatenate(maps)


def _hits(
    maps: np.ndarray, peaks: np.ndarray, peak_sd: np.ndarray, lines: np.ndarray, tolerance: np.ndarray
) -> np.ndarray:
    """(map, peak, line) booleans: the peak, mapped by E' = a + b E (``maps`` rows (a, b)), within ``tolerance``
    (per line, widened by the peak's uncertainty) of the line."""
    mapped = maps[:, :1, None] + maps[:, 1:, None] * peaks[None, :, None]
    allowed = np.hypot(tolerance[None, None, :], maps[:, 1:, None] * peak_sd[None, :, None])
    return np.abs(mapped - lines[None, None, :]) <= allowed


def _best_map(
    energy: np.ndarray,
    energy_sd: np.ndarray,
    lines: Mapping[str, pd.DataFrame],
    fwhm: Callable[[np.ndarray], np.ndarray],
    tolerance_fwhm: float,
    max_shift_fwhm: float,
    max_gain: float,
    max_gain_error: float,
    rescale: bool,
) -> tuple[int, str, np.ndarray]:
    """(support, nuclide, map) of the best-supported map (:func:`refine_calibration`), the identity on a tie."""
    bound = max_shift_fwhm * fwhm(energy)
    low, high = float(energy.min()), float(energy.max())
    best: tuple[int, bool, str, np.ndarray] = (0, False, "", np.array([0.0, 1.0]))
    for nuclide, table in lines.items():
        line, intensity = table["energy_kev"].to_numpy(float), table["intensity"].to_numpy(float)
        tolerance = np.hypot(tolerance_fwhm * fwhm(line), table["energy_sd_kev"].to_numpy(float))
        maps = _candidate_maps(energy, line, bound, max_gain, max_gain_error, rescale)
        if not len(maps):
            continue
        hits = _hits(maps, energy, energy_sd, line, tolerance)
        if not rescale:  # a bounded correction: every match within the bound
            hits &= (np.abs(line[None, :] - energy[:, None]) <= bound[:, None])[None]
        # The strongest of the nuclide's lines in the mapped range must be matched.
        inside = (line[None, :] >= maps[:, :1] + maps[:, 1:] * low - 1) & (
            line[None, :] <= maps[:, :1] + maps[:, 1:] * high + 1
        )
        strongest = np.argmax(np.where(inside, intensity[None, :], -1.0), axis=1)
        matched = hits.any(axis=1)[np.arange(len(maps)), strongest]
        support = np.where(matched, np.minimum(hits.any(axis=2).sum(axis=1), hits.any(axis=1).sum(axis=1)), 0)
        pick = int(np.argmax(support))
        if (int(support[pick]), not rescale and pick == 0) > best[:2]:
            best = (int(support[pick]), not rescale and pick == 0, nuclide, maps[pick])
    return best[0], best[2], best[3]


def _pairs(
    energy: np.ndarray, energy_sd: np.ndarray, line: np.ndarray, tolerance: np.ndarray, coefficients: np.ndarray
) -> np.ndarray:
    """(peak, line) index pairs matched one to one by the corrected peak energies, the closer on a conflict."""
    corrected = np.polynomial.polynomial.polyval(energy, coefficients)
    slope = np.polynomial.polynomial.polyval(energy, np.polynomial.polynomial.polyder(coefficients))
    distance = np.abs(corrected[:, None] - line[None, :])
    allowed = np.hypot(tolerance[None, :], (slope * energy_sd)[:, None])
    distance = np.where(distance <= allowed, distance, np.inf)
    pairs, peaks_used, lines_used = [], set(), set()
    for flat in np.argsort(distance, axis=None):
        peak, index = np.unravel_index(flat, distance.shape)
        if not np.isfinite(distance[peak, index]):
            break
        if peak not in peaks_used and index not in lines_used:
            pairs.append((peak, index))
            peaks_used.add(peak)
            lines_used.add(index)
    return np.array(pairs, dtype=int).reshape(-1, 2)


def refine_calibration(
    peaks: pd.DataFrame,
    lines: Mapping[str, pd.DataFrame],
    fwhm: Callable[[np.ndarray], np.ndarray],
    *,
    min_peaks: int = 3,
    min_span: float = 1.5,
    max_shift_fwhm: float = 3.0,
    tolerance_fwhm: float = 0.25,
    max_gain_error: float = 0.05,
    max_gain: float = 5.0,
    min_peaks_rescaled: int = 6,
) -> CalibrationFit | None:
    """The correction of the energy scale that the found ``peaks`` support, or None (keep the file's).

    For each nuclide of ``lines``, linear maps E' = a + b E of the peak energies are tried: the identity, and
    those through one or two (peak, line) pairs each within ``max_shift_fwhm`` FWHM of its line, of gain within
    ``max_gain_error`` of one (a bounded correction). A map's support is the number of the nuclide's lines
    matched one to one by mapped peaks within ``tolerance_fwhm`` FWHM (and the uncertainties of line and peak),
    the strongest line in range among them. The nuclide and map with the most support win, the identity on a
    tie: the peaks of one nuclide, so that lines of different nuclides cannot make up a scale together. Unless a
    bounded map reaches ``min_peaks_rescaled``, a free gain E' = g E (g within 1 / ``max_gain`` to ``max_gain``:
    a file whose gain is wrong) is searched too; it replaces the file's scale when it reaches
    ``min_peaks_rescaled`` and twice the bounded support. A polynomial correction (linear; quadratic where five
    matched peaks spanning a factor three fit it better by a χ² of 9) is then fitted by weighted least squares to
    the winner's matched peaks, matching again with it (three rounds). None unless at least ``min_peaks`` peaks
    spanning a factor ``min_span`` in energy match the final correction within the tolerance.

    Parameters: ``peaks`` with energy_kev, energy_sd_kev (on the file's scale); ``lines`` per nuclide its line
    groups (energy_kev, energy_sd_kev, intensity) to match; ``fwhm`` the resolution law (keV of keV).
    """
    energy, energy_sd = peaks["energy_kev"].to_numpy(float), peaks["energy_sd_kev"].to_numpy(float)
    if len(energy) < min_peaks:
        return None
    search = (energy, energy_sd, lines, fwhm, tolerance_fwhm, max_shift_fwhm, max_gain, max_gain_error)
    support, nuclide, chosen = _best_map(*search, rescale=False)
    rescaled = False
    if support < min_peaks_rescaled:
        free = _best_map(*search, rescale=True)
        if free[0] >= max(min_peaks_rescaled, 2 * support) and abs(free[2][1] - 1) > max_gain_error:
            (support, nuclide, chosen), rescaled = free, True
    if support < min_peaks:
        return None
    table = lines[nuclide]
    line, line_sd = table["energy_kev"].to_numpy(float), table["energy_sd_kev"].to_numpy(float)
    tolerance = np.hypot(tolerance_fwhm * fwhm(line), line_sd)
    coefficients = chosen
    for round_ in range(4):  # three fits, each to the matches of the one before, then the final matches
        pairs = _pairs(energy, energy_sd, line, tolerance, coefficients)
        peak, matched = energy[pairs[:, 0]], line[pairs[:, 1]]
        if len(pairs) < min_peaks or peak.max() < min_span * peak.min():
            return None
        if round_ == 3:
            break
        weight = 1 / np.hypot(coefficients[1] * energy_sd[pairs[:, 0]], line_sd[pairs[:, 1]] + 0.01)
        coefficients = np.polynomial.polynomial.polyfit(peak, matched, 1, w=weight)
        if len(pairs) >= 5 and peak.max() >= 3 * peak.min():
            quadratic = np.polynomial.polynomial.polyfit(peak, matched, 2, w=weight)
            chi2 = [
                np.sum((weight * (np.polynomial.polynomial.polyval(peak, c) - matched)) ** 2)
                for c in (coefficients, quadratic)
            ]
            coefficients = quadratic if chi2[0] - chi2[1] > 9 else coefficients  # a 3 sigma better fit
    corrected = np.polynomial.polynomial.polyval(peak, coefficients)
    table = {"line_kev": matched, "peak_file_kev": peak, "peak_kev": corrected, "residual_kev": corrected - matched}
    span = (float(peak.min()), float(peak.max()))
    return CalibrationFit(coefficients, span, pd.DataFrame({"nuclide": nuclide, **table}), rescaled)
