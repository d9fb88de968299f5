"""Energy calibration from a spectrum's own peaks, for a file without a calibration (or with a wrong one).

becquerel's ``PeakFinder`` (a Gaussian peak filter whose FWHM scales as sqrt(channel)) finds the peaks and its
``AutoCalibrator`` finds the gain that matches them to the given line energies; a polynomial of the requested order
(with offset) is then fitted by least squares to the matched (centroid, energy) pairs and its residuals reported.
Centroids are channel centres (channel + 0.5), the polynomial maps channel edges as :class:`Spectrum` does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io

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
