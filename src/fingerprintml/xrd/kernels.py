"""Compiled inner loops of pattern simulation (numba): one pass per reflection and copy instead of one numpy pass
(and one temporary array) per arithmetic step, which is what made large cells slow to augment. They release the
GIL, so augmentation batches run in parallel threads. The physics is documented where they are called:
:func:`fingerprintml.xrd.reflections.stick_intensities`, :func:`fingerprintml.xrd.augment.augmented_sticks` and
:func:`fingerprintml.xrd.augment.render_profiles`.
"""

from __future__ import annotations

import math

import numba
import numpy as np

FOUR_LN2 = 4 * math.log(2)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def sticks(
    products: np.ndarray,
    hkl: np.ndarray,
    s2_unstrained: np.ndarray,
    factors: np.ndarray,
    slopes: np.ndarray,
    phase_real: np.ndarray,
    phase_imag: np.ndarray,
    dispersion_real: np.ndarray,
    dispersion_imag: np.ndarray,
    family: np.ndarray,
    metrics: np.ndarray,
    b_factors: np.ndarray,
    orientation_r: np.ndarray,
    orientation_axis: np.ndarray,
    family_scale: np.ndarray,
    wavelength: float,
    floor: float,
    kalpha2_factor: float,
    kalpha2_ratio: float,
    zero_shift: np.ndarray,
    instrument_fwhm: np.ndarray,
    scherrer: np.ndarray,
    two_theta: np.ndarray,
    intensity: np.ndarray,
    fwhm: np.ndarray,
) -> None:
    """Augmented sticks of C copies of one structure, written into ``two_theta``, ``intensity`` and ``fwhm``
    (C, M), or (C, 2M) with K-alpha2 sticks after the K-alpha1 ones (``kalpha2_ratio`` > 0).

    Per reflection m: ``products`` (M, 6) are h^2, k^2, l^2, 2hk, 2hl, 2kl and ``metrics`` (C, 6) the matching
    reciprocal metric terms / 4 (s^2 = their dot product; an empty ``metrics`` means unstrained); ``hkl`` (M, 3)
    float; ``factors``/``slopes`` (M, E) the scattering factors and their s^2 slopes at ``s2_unstrained``;
    ``phase_real``/``phase_imag`` (M, E) the phase sums; ``dispersion_real``/``dispersion_imag`` (E,) f' and f'';
    ``family`` (M,) the peak family. The intensity of point h is that of the Friedel pair, |F(h)|^2 + |F(-h)|^2 =
    2 (|A|^2 + |B|^2) with A = sum_e (f_e + f'_e) P_e and B = sum_e f''_e P_e (see
    :mod:`fingerprintml.xrd.reflections`), times LP. Per copy:
    ``b_factors`` (C, E) or empty; ``orientation_r`` (C,) March-Dollase r (1: none) and ``orientation_axis``
    (C, 4): the orientation axis a dotted with a*, b*, c* (so hkl . those = g . a) and |a|^2; ``family_scale``
    (C, F) or empty; ``zero_shift``, ``instrument_fwhm`` (deg) and ``scherrer`` (K lambda / L in radians, 0: no
    size broadening) (C,). Sticks beyond the limiting sphere get two-theta inf and intensity 0; sticks at or
    below ``floor`` times the copy's strongest get intensity 0.
    """
    copies, count = two_theta.shape[0], products.shape[0]
    elements = factors.shape[1]
    strained, damped = metrics.shape[0] > 0, b_factors.shape[0] > 0
    scaled = family_scale.shape[0] > 0
    sin2 = np.empty(count)
    for c in range(copies):
        r = orientation_r[c]
        strongest = 0.0
        for m in range(count):
            s2 = s2_unstrained[m]
            if strained:
                s2 = 0.0
                for j in range(6):
                    s2 += metrics[c, j] * products[m, j]
            sin2_theta = wavelength * wavelength * s2
            sin2[m] = sin2_theta
            if sin2_theta >= 1.0 or sin2_theta <= 0.0:
                intensity[c, m] = 0.0
                continue
            shift = s2 - s2_unstrained[m]
            a_real = 0.0
            a_imag = 0.0
            b_real = 0.0
            b_imag = 0.0
            for e in range(elements):
                f = factors[m, e] + dispersion_real[e]
                if strained:
                    f += slopes[m, e] * shift
                f2 = dispersion_imag[e]
                if damped:
                    damping = math.exp(-b_factors[c, e] * s2)
                    f *= damping
                    f2 *= damping
                a_real += f * phase_real[m, e]
                a_imag += f * phase_imag[m, e]
                b_real += f2 * phase_real[m, e]
                b_imag += f2 * phase_imag[m, e]
            squared = a_real * a_real + a_imag * a_imag + b_real * b_real + b_imag * b_imag
            cos2_2theta = (1.0 - 2.0 * sin2_theta) ** 2
            value = 2.0 * squared * (1.0 + cos2_2theta) / (sin2_theta * math.sqrt(1.0 - sin2_theta))
            if r != 1.0:
                along = (
                    orientation_axis[c, 0] * hkl[m, 0]
                    + orientation_axis[c, 1] * hkl[m, 1]
                    + orientation_axis[c, 2] * hkl[m, 2]
                )
                cos2 = along * along / max(4.0 * s2 * orientation_axis[c, 3], 1e-30)
                base = r * r * cos2 + (1.0 - cos2) / r
                value /= base * math.sqrt(base)
            if scaled:
                value *= family_scale[c, family[m]]
            intensity[c, m] = value
            strongest = max(strongest, value)
        threshold = floor * max(strongest, 1e-300)
        for m in range(count):
            sin2_theta = sin2[m]
            if sin2_theta >= 1.0 or sin2_theta <= 0.0:
                _unreached(two_theta, intensity, fwhm, c, m, instrument_fwhm[c])
                if kalpha2_ratio > 0:
                    _unreached(two_theta, intensity, fwhm, c, count + m, instrument_fwhm[c])
                continue
            value = intensity[c, m]
            if value <= threshold:
                value = 0.0
                intensity[c, m] = 0.0
            sin_theta = math.sqrt(sin2_theta)
            two_theta[c, m] = math.degrees(2.0 * math.asin(sin_theta)) + zero_shift[c]
            fwhm[c, m] = _broadened(instrument_fwhm[c], scherrer[c], sin2_theta)
            if kalpha2_ratio > 0:
                sin_theta2 = sin_theta * kalpha2_factor
                if sin_theta2 < 1.0:
                    two_theta[c, count + m] = math.degrees(2.0 * math.asin(sin_theta2)) + zero_shift[c]
                    intensity[c, count + m] = kalpha2_ratio * value
                    fwhm[c, count + m] = _broadened(instrument_fwhm[c], scherrer[c], sin_theta2 * sin_theta2)
                else:
                    _unreached(two_theta, intensity, fwhm, c, count + m, instrument_fwhm[c])


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _unreached(
    two_theta: np.ndarray, intensity: np.ndarray, fwhm: np.ndarray, c: int, k: int, instrument: float
) -> None:
    """Stick k of copy c lies beyond the limiting sphere: two-theta inf, intensity 0, the instrument's FWHM."""
    two_theta[c, k] = np.inf
    intensity[c, k] = 0.0
    fwhm[c, k] = instrument


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _broadened(instrument: float, scherrer: float, sin2_theta: float) -> float:
    """Instrument FWHM and Scherrer FWHM K lambda / (L cos theta), in quadrature (deg)."""
    if scherrer == 0.0:
        return instrument
    size = math.degrees(scherrer / math.sqrt(1.0 - sin2_theta))
    return math.sqrt(instrument * instrument + size * size)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def widest_profile(two_theta: np.ndarray, intensity: np.ndarray, fwhm: np.ndarray) -> float:
    """The largest FWHM of the sticks (C, K) with a finite position and a positive intensity (0 if none)."""
    widest = 0.0
    for c in range(two_theta.shape[0]):
        for k in range(two_theta.shape[1]):
            if intensity[c, k] > 0.0 and math.isfinite(two_theta[c, k]):
                widest = max(widest, fwhm[c, k])
    return widest


@numba.njit(nogil=True, cache=True, error_model="numpy")
def deposit_bands(
    two_theta: np.ndarray,
    intensity: np.ndarray,
    fwhm: np.ndarray,
    start: float,
    step: float,
    size: int,
    segment: int,
    bands: int,
    pad: int,
    length: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Sticks (C, K) at grid position p = (two_theta - start) / step split linearly between the two neighbouring
    points of their band's padded segment: deposits (C * bands, length) float32 and the bands' intensity-weighted
    mean FWHM. Sticks with p outside (-pad, size - 1 + pad) are left out."""
    copies, count = two_theta.shape
    deposits = np.zeros((copies * bands, length), dtype=np.float32)
    weight = np.zeros(copies * bands)
    width = np.zeros(copies * bands)
    for c in range(copies):
        for k in range(count):
            value, p = intensity[c, k], (two_theta[c, k] - start) / step
            if not (value > 0.0 and p > -pad and p < size - 1 + pad):
                continue
            band = min(max(math.floor(p / segment), 0), bands - 1)
            row = c * bands + band
            local = p - band * segment + pad
            left = math.floor(local)
            upper = value * (local - left)
            deposits[row, left] += value - upper
            deposits[row, left + 1] += upper
            weight[row] += value
            width[row] += value * fwhm[c, k]
    for row in range(copies * bands):
        if weight[row] > 0:
            width[row] /= weight[row]
    return deposits, width


@numba.njit(nogil=True, cache=True, error_model="numpy")
def overlap_add(convolved: np.ndarray, segment: int, pad: int, size: int) -> np.ndarray:
    """The bands' convolved padded segments (C, bands, length), each shifted to its segment's place and added up,
    cut to the grid (C, size) float32 with negative values (FFT round-off) set to 0."""
    copies, bands, length = convolved.shape
    out = np.zeros((copies, size), dtype=np.float32)
    for c in range(copies):
        for b in range(bands):
            offset = b * segment - pad  # grid index of the segment's first point
            for j in range(max(0, -offset), min(length, size - offset)):
                out[c, offset + j] += convolved[c, b, j]
        for i in range(size):
            out[c, i] = max(out[c, i], 0.0)
    return out


@numba.njit(nogil=True, cache=True, error_model="numpy")
def apply_pseudo_voigt(spectrum: np.ndarray, band_fwhm: np.ndarray, eta: np.ndarray, step: float, length: int) -> None:
    """Multiply each row of an rfft ``spectrum`` (rows, length // 2 + 1) by the Fourier transform of an
    area-normalised pseudo-Voigt of the row's FWHM w (deg) and Lorentzian fraction eta, at f = k / (length step):
    (1 - eta) exp(-(pi w f)^2 / (4 ln 2)) + eta exp(-pi w f). Both terms by recurrence, no exp per frequency."""
    rows, frequencies = spectrum.shape
    df = 1.0 / (length * step)
    for row in range(rows):
        a = (math.pi * band_fwhm[row] * df) ** 2 / FOUR_LN2
        lorentz_ratio = math.exp(-math.pi * band_fwhm[row] * df)
        e = eta[row]
        gauss, gauss_ratio, gauss_ratio_step = 1.0, math.exp(-a), math.exp(-2 * a)
        lorentz = 1.0
        for k in range(frequencies):
            spectrum[row, k] *= (1.0 - e) * gauss + e * lorentz
            gauss *= gauss_ratio
            gauss_ratio *= gauss_ratio_step
            lorentz *= lorentz_ratio


@numba.njit(nogil=True, cache=True, error_model="numpy", inline="always")
def _count(lam: float, word: int, normal_quantiles: np.ndarray, exact_below: float) -> float:
    """A count around ``lam`` from 32 random bits ``word`` (see :func:`poisson_counts`)."""
    if lam < exact_below:
        u = (word + 0.5) * 2.0**-32
        if u <= 1.0 - lam:  # then u <= exp(-lam) as well: no count, and no exp to evaluate
            return 0.0
        p = math.exp(-lam)
        cdf, k = p, 0
        while u > cdf and k < 1000:
            k += 1
            p *= lam / k
            cdf += p
        return float(k)
    z = float(normal_quantiles[word >> 16])
    return max(round(lam + math.sqrt(lam) * z + (z * z - 1.0) / 6.0), 0.0)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def poisson_counts(
    expected: np.ndarray, bits: np.ndarray, normal_quantiles: np.ndarray, exact_below: float, counts: np.ndarray
) -> None:
    """Counts around ``expected`` (N,), each from its own 32 random ``bits``: below ``exact_below`` by inverting
    the Poisson distribution function at the uniform the bits give; above it by the rounded Cornish-Fisher
    expansion lambda + sqrt(lambda) z + (z^2 - 1) / 6 of the Poisson quantile, with z the standard normal quantile
    of the bits' top 16 (``normal_quantiles``: the 65536 quantiles at the cells' mid-probabilities)."""
    for i in range(expected.shape[0]):
        counts[i] = _count(float(expected[i]), bits[i], normal_quantiles, exact_below)


@numba.njit(nogil=True, cache=True, error_model="numpy")
def _gaussian_on_grid(out: np.ndarray, step: float, centre: float, width: float) -> None:
    """exp(-(x - centre)^2 / (2 width^2)) at x = 0, step, 2 step, ... by recurrence outward from the point nearest
    the centre (two multiplications per point instead of an exp)."""
    size = out.shape[0]
    two_w2 = 2.0 * width * width
    q = math.exp(-2.0 * step * step / two_w2)
    j = min(max(round(centre / step), 0), size - 1)
    d = j * step - centre
    g, ratio = math.exp(-d * d / two_w2), math.exp(-(2.0 * d * step + step * step) / two_w2)
    for i in range(j, size):
        out[i] = g
        g *= ratio
        ratio *= q
    g, ratio = out[j], math.exp((2.0 * d * step - step * step) / two_w2)
    for i in range(j - 1, -1, -1):
        g *= ratio
        ratio *= q
        out[i] = g


@numba.njit(nogil=True, cache=True, error_model="numpy")
def background_and_noise(
    patterns: np.ndarray,
    step: float,
    level: np.ndarray,
    slope: np.ndarray,
    centre: np.ndarray,
    width: np.ndarray,
    hump: np.ndarray,
    counts: np.ndarray,
    bits: np.ndarray,
    normal_quantiles: np.ndarray,
    exact_below: float,
) -> None:
    """In place, per pattern (row of ``patterns``, C x N): scale to a maximum of 1; add the background
    ``level`` * shape / max(shape), shape(x) = 1 + slope (1 - 2x) / 2 + hump exp(-(x - centre)^2 / (2 width^2)) on
    x = 0, step, 2 step, ... (the grid mapped onto [0, 1]); where ``counts`` > 0, replace the pattern p by counts
    drawn around p * counts (:func:`poisson_counts`; ``bits``: N per row) divided by counts; scale to a maximum of
    1 again. Negative values count as 0."""
    copies, size = patterns.shape
    shape = np.empty(size)
    for c in range(copies):
        row = patterns[c]
        top = 0.0
        for i in range(size):
            top = max(top, row[i])
        scale = 1.0 / top if top > 0 else 1.0
        background = level[c] > 0
        background_scale = 0.0
        if background:
            _gaussian_on_grid(shape, step, centre[c], width[c])
            highest = -np.inf
            for i in range(size):
                shape[i] = 1.0 + 0.5 * slope[c] * (1.0 - 2.0 * i * step) + hump[c] * shape[i]
                highest = max(highest, shape[i])
            background_scale = level[c] / highest
        new_top = 0.0
        for i in range(size):
            value = row[i] * scale
            if background:
                value += background_scale * shape[i]
            if counts[c] > 0:
                lam = max(value, 0.0) * counts[c]
                value = _count(lam, bits[c * size + i], normal_quantiles, exact_below) / counts[c]
            row[i] = value
            new_top = max(new_top, value)
        if new_top > 0:
            for i in range(size):
                row[i] /= new_top
