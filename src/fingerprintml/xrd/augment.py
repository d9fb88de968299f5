"""Physics-informed augmentation: augmented patterns recomputed from the reflection cache, vectorised, no pymatgen.

Each effect is switched on and sized in config (``xrd.augmentation``):

* Debye-Waller: per-element B (angstrom^2), intensities times exp(-B s^2), s = sin(theta)/lambda.
* Strain: a random symmetric strain tensor deforms the cell; peak positions follow from the strained reciprocal
  lattice (a stretched cell moves peaks to lower angles), scattering factors and Lorentz-polarisation follow too.
* Crystallite size: Scherrer broadening, FWHM = K lambda / (L cos theta), added in quadrature to the instrument's.
* Pseudo-Voigt peak shape with a random Lorentzian fraction (else Gaussian).
* K-alpha2: a second set of sticks at the K-alpha2 wavelength with a fixed intensity ratio.
* Preferred orientation: March-Dollase factor (r^2 cos^2 a + sin^2 a / r)^(-3/2) about a low-index direction.
* Peak scaling (log-normal factor per reflection family) and elimination (families dropped at random).
* Zero shift of the two-theta axis; smooth background with an amorphous hump; Poisson counting noise (drawn
  exactly at low counts, by a Cornish-Fisher expansion from 10 counts up).
"""

from __future__ import annotations

import copy
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.fft

from fingerprintml.xrd.patterns import Grid, normalise
from fingerprintml.xrd.reflections import Reflections, squared_spacings, stick_intensities

ORIENTATION_AXES = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 1, 1]], dtype=float)
FOUR_LN2 = 4 * math.log(2)
# Sticks weaker than this fraction of the strongest are not rendered (far below any noise level).
RENDER_FLOOR = 1e-5
RENDER_BANDS = 6
RENDER_PAD_FWHM = 8
MAX_HALF_WINDOW = 2000
# Copies of one structure augmented as one batch: small batches keep their arrays in cache (16 measured fastest
# on the paper grid; batches of 100 copies take 1.7x longer).
COPY_BATCH = 16
# Below this many expected counts the noise is drawn from the Poisson law itself (see counting_noise).
EXACT_POISSON_BELOW = 10.0


def scaled_settings(settings: dict[str, Any], strength: float) -> dict[str, Any]:
    """The augmentation settings with every random magnitude multiplied by ``strength`` (counts divided by it)."""
    out = copy.deepcopy(settings)
    out["debye_waller"]["b_max"] *= strength
    out["strain"]["max"] *= strength
    out["zero_shift"]["max"] *= strength
    out["peak_scaling"]["sigma"] *= strength
    out["peak_scaling"]["drop_fraction"] = min(0.9, out["peak_scaling"]["drop_fraction"] * strength)
    out["preferred_orientation"]["r_min"] = max(0.05, 1 - (1 - out["preferred_orientation"]["r_min"]) * strength)
    out["background"]["max_fraction"] *= strength
    out["noise"]["min_counts"] /= strength**2
    out["noise"]["max_counts"] /= strength**2
    return out


def _strained_reciprocals(refl: Reflections, strain: float, rng: np.random.Generator, copies: int) -> np.ndarray:
    if strain <= 0:
        return np.broadcast_to(refl.reciprocal, (copies, 3, 3))
    tensor = rng.uniform(-strain, strain, (copies, 3, 3))
    tensor = (tensor + tensor.transpose(0, 2, 1)) / 2
    return np.linalg.inv(refl.lattice @ (np.eye(3) + tensor)).transpose(0, 2, 1)


def augmented_sticks(
    refl: Reflections, wavelength: float, settings: dict[str, Any], rng: np.random.Generator, copies: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-theta, intensity and FWHM (deg) of the augmented sticks of ``copies`` copies of one structure (K-alpha2
    included), each (copies, K); every copy draws its own random parameters. Sticks dropped (beyond the limiting
    sphere, eliminated, or negligible) have intensity 0."""
    s = settings
    reciprocal = _strained_reciprocals(refl, s["strain"]["max"] if s["strain"]["enabled"] else 0.0, rng, copies)
    b_factors = None
    if s["debye_waller"]["enabled"]:
        b_factors = rng.uniform(0, s["debye_waller"]["b_max"], (copies, len(refl.symbols)))
    two_theta, intensity = stick_intensities(refl, wavelength, reciprocal, b_factors)
    if s["preferred_orientation"]["enabled"]:
        r = rng.uniform(s["preferred_orientation"]["r_min"], 1.0, (copies, 1))
        axis = np.einsum("ci,cij->cj", ORIENTATION_AXES[rng.integers(len(ORIENTATION_AXES), size=copies)], reciprocal)
        along_axis = (reciprocal @ axis[:, :, None])[:, :, 0] @ refl.hkl.T  # g . axis, (copies, M)
        cos2 = along_axis**2 / np.maximum(
            squared_spacings(refl.hkl, reciprocal) * (axis * axis).sum(axis=-1, keepdims=True), 1e-30
        )
        intensity = intensity * (r**2 * cos2 + (1 - cos2) / r) ** -1.5
    if s["peak_scaling"]["enabled"]:
        n_families = int(refl.family.max()) + 1
        factors = np.exp(s["peak_scaling"]["sigma"] * rng.standard_normal((copies, n_families)))
        factors[rng.random((copies, n_families)) < s["peak_scaling"]["drop_fraction"]] = 0.0
        intensity = intensity * factors[:, refl.family]
    kept = np.isfinite(two_theta) & (
        intensity > RENDER_FLOOR * np.maximum(intensity.max(axis=1, keepdims=True), 1e-300)
    )
    two_theta, intensity = np.where(kept, two_theta, 0.0), np.where(kept, intensity, 0.0)
    if s["kalpha2"]["enabled"]:
        sin2 = np.sin(np.radians(two_theta) / 2) * (s["kalpha2"]["wavelength"] / wavelength)
        reach = sin2 < 1
        two_theta = np.concatenate([two_theta, np.where(reach, np.degrees(2 * np.arcsin(np.minimum(sin2, 1))), 0.0)], 1)
        intensity = np.concatenate([intensity, np.where(reach, s["kalpha2"]["ratio"] * intensity, 0.0)], axis=1)
    if s["zero_shift"]["enabled"]:
        two_theta = two_theta + rng.uniform(-s["zero_shift"]["max"], s["zero_shift"]["max"], (copies, 1))
    fwhm = np.broadcast_to(rng.uniform(*s["profile"]["instrument_fwhm"], (copies, 1)), two_theta.shape)
    if s["crystallite_size"]["enabled"]:
        size = 10 * rng.uniform(s["crystallite_size"]["min_nm"], s["crystallite_size"]["max_nm"], (copies, 1))  # A
        scherrer = np.degrees(
            s["crystallite_size"]["shape_factor"] * wavelength / (size * np.cos(np.radians(two_theta / 2)))
        )
        fwhm = np.sqrt(fwhm**2 + scherrer**2)
    return two_theta, intensity, fwhm


def render_profiles(
    grid: Grid, two_theta: np.ndarray, intensity: np.ndarray, fwhm: np.ndarray, eta: float | np.ndarray
) -> np.ndarray:
    """Sum of area-normalised pseudo-Voigt peaks (Lorentzian fraction ``eta``) on the grid, float32.

    Batched: sticks (C, K) and ``eta`` (C,) give C patterns (C, grid.size) in one FFT pass; 1-D sticks give one
    pattern. The grid is cut into RENDER_BANDS segments; each segment's sticks are deposited on it and convolved,
    by FFT, with one profile (the segment's intensity-weighted mean FWHM: the bands follow the 1/cos(theta) growth
    of Scherrer widths to within ~10 %), and the convolved segments, padded by RENDER_PAD_FWHM of the widest
    profile on each side, are added up (overlap-add). Lorentzian tails beyond the padding wrap within their
    segment. Sticks farther than the padding outside the grid are not rendered.
    """
    single = np.ndim(two_theta) == 1
    two_theta, intensity, fwhm = (np.atleast_2d(a) for a in (two_theta, intensity, fwhm))
    copies = len(two_theta)
    eta = np.broadcast_to(np.asarray(eta, dtype=np.float32), (copies,))
    position = (two_theta - grid.start) / grid.step
    live = np.isfinite(position) & (intensity > 0)
    widest = float(fwhm[live].max()) if live.any() else grid.step
    pad = int(min(MAX_HALF_WINDOW, max(2, math.ceil(RENDER_PAD_FWHM * widest / grid.step))))
    live &= (position > -pad) & (position < grid.size - 1 + pad)
    position, intensity = np.where(live, position, 0.0), np.where(live, intensity, 0.0)
    segment = -(-grid.size // RENDER_BANDS)
    band = np.clip(np.floor(position / segment).astype(np.int64), 0, RENDER_BANDS - 1)
    row = band + RENDER_BANDS * np.arange(copies)[:, None]
    weight = np.bincount(row.ravel(), weights=intensity.ravel(), minlength=copies * RENDER_BANDS)
    band_fwhm = np.bincount(row.ravel(), weights=(intensity * fwhm).ravel(), minlength=copies * RENDER_BANDS)
    band_fwhm /= np.where(weight > 0, weight, 1)
    length = scipy.fft.next_fast_len(segment + 2 * pad + 2, real=True)
    local = position - band * segment + pad  # within the band's padded segment, 0 <= local < length - 1
    left = np.floor(local).astype(np.int64)
    fraction = local - left
    flat = (row * length + left).ravel()
    upper = (intensity * fraction).ravel().astype(np.float32)
    deposits = np.zeros(copies * RENDER_BANDS * length, dtype=np.float32)
    np.add.at(deposits, flat, intensity.ravel().astype(np.float32) - upper)
    np.add.at(deposits, flat + 1, upper)
    # Profiles enter through their analytic Fourier transforms (area-normalised Gaussian and Lorentzian of FWHM w):
    # exp(-(pi w f)^2 / (4 ln 2)) and exp(-pi w |f|), f in cycles per degree.
    frequency = np.fft.rfftfreq(length, d=grid.step).astype(np.float32)
    scaled = (math.pi * band_fwhm.astype(np.float32))[:, None] * frequency  # (C * bands, frequencies)
    eta_rows = np.repeat(eta, RENDER_BANDS)[:, None]
    kernels = (1 - eta_rows) * np.exp(-(scaled * scaled) / np.float32(FOUR_LN2))
    if eta.any():
        kernels += eta_rows * np.exp(-scaled)
    spectrum = scipy.fft.rfft(deposits.reshape(copies * RENDER_BANDS, length), axis=1)
    spectrum *= kernels
    convolved = scipy.fft.irfft(spectrum, n=length, axis=1).reshape(copies, RENDER_BANDS, length)
    canvas = np.zeros((copies, (RENDER_BANDS - 1) * segment + length), dtype=np.float32)
    for b in range(RENDER_BANDS):
        canvas[:, b * segment : b * segment + length] += convolved[:, b]
    out = canvas[:, pad : pad + grid.size]
    np.maximum(out, 0, out=out)
    return out[0] if single else out


def counting_noise(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Counts (float32) drawn around ``expected`` (float32 counts): exact Poisson where fewer than
    EXACT_POISSON_BELOW are expected, elsewhere the rounded Cornish-Fisher expansion of the Poisson quantile,
    lambda + sqrt(lambda) z + (z^2 - 1) / 6, whose distribution is within sampling error of Poisson (total
    variation below 0.003 from lambda = 10 up) at a fraction of the cost of drawing Poisson variates."""
    z = rng.standard_normal(expected.shape, dtype=np.float32)
    counts = z * z
    counts -= 1
    counts *= np.float32(1 / 6)
    z *= np.sqrt(expected)
    counts += z
    counts += expected
    np.rint(counts, out=counts)
    low = expected < EXACT_POISSON_BELOW
    counts[low] = rng.poisson(expected[low])
    return np.maximum(counts, 0, out=counts)


def add_background_and_noise(
    patterns: np.ndarray, grid: Grid, settings: dict[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """Smooth background (sloping line plus an amorphous hump) and Poisson counting noise on patterns (C, grid.size),
    each copy its own; returns them max-1 scaled (float32)."""
    patterns = normalise(patterns).astype(np.float32)
    copies = len(patterns)
    if settings["background"]["enabled"]:
        x = ((grid.two_theta - grid.start) / (grid.stop - grid.start)).astype(np.float32)
        level, slope, centre, width, hump = (
            rng.uniform(low, high, (copies, 1)).astype(np.float32)
            for low, high in [(0, settings["background"]["max_fraction"]), (-1, 1), (0.1, 0.35), (0.04, 0.12), (0, 2)]
        )
        shape = 1 + 0.5 * slope * (1 - 2 * x) + hump * np.exp(-0.5 * ((x - centre) / width) ** 2)
        patterns += level / shape.max(axis=1, keepdims=True) * shape
    if settings["noise"]["enabled"]:
        noise = settings["noise"]
        counts = np.exp(rng.uniform(math.log(noise["min_counts"]), math.log(noise["max_counts"]), (copies, 1)))
        counts = counts.astype(np.float32)
        patterns = counting_noise(np.clip(patterns, 0, None) * counts, rng) / counts
    return normalise(patterns)


def _peaks(
    refl: Reflections,
    grid: Grid,
    wavelength: float,
    settings: dict[str, Any],
    rng: np.random.Generator,
    copies: int,
) -> np.ndarray:
    """Max-1 scaled augmented peak patterns (copies, grid.size) of one structure, before background and noise."""
    two_theta, intensity, fwhm = augmented_sticks(refl, wavelength, settings, rng, copies)
    profile = settings["profile"]
    eta = rng.uniform(profile["eta_min"], profile["eta_max"], copies) if profile["pseudo_voigt"] else 0.0
    return normalise(render_profiles(grid, two_theta, intensity, fwhm, eta))


def _rows_by_label(labels: np.ndarray) -> list[tuple[int, np.ndarray]]:
    """(label, ascending row indices) for each distinct label, in ascending label order."""
    order = np.argsort(labels, kind="stable")
    distinct, starts = np.unique(labels[order], return_index=True)
    return list(zip(distinct.tolist(), np.split(order, starts[1:]), strict=True))


def augmented_set(
    library: list[Reflections],
    labels: np.ndarray,
    grid: Grid,
    wavelength: float,
    settings: dict[str, Any],
    rng: np.random.Generator,
    mixture_fraction: float = 0.0,
    threads: int = 1,
) -> np.ndarray:
    """Augmented patterns (N, grid.size) for the class ``labels``, max-1 scaled float32; a ``mixture_fraction`` of
    them get a second, weaker phase (weight 0.1-0.4 of the labelled one) added before noise.

    The copies of one structure go through the chain in batches of COPY_BATCH (sticks as (copies, reflections)
    arrays, one FFT rendering, background and noise), each with its own random stream spawned from ``rng``, so the
    batches run on ``threads`` threads and the result does not depend on their number.
    """
    labels = np.asarray(labels)
    out = np.empty((len(labels), grid.size), dtype=np.float32)
    library = [refl.allowed() for refl in library]
    batches = [
        (label, rows[begin : begin + COPY_BATCH])
        for label, rows in _rows_by_label(labels)
        for begin in range(0, len(rows), COPY_BATCH)
    ]

    def augment_batch(batch: tuple[int, np.ndarray], batch_rng: np.random.Generator) -> None:
        label, rows = batch
        patterns = _peaks(library[label], grid, wavelength, settings, batch_rng, len(rows))
        mixed = np.flatnonzero(batch_rng.random(len(rows)) < mixture_fraction)
        if len(mixed):
            others = batch_rng.integers(len(library) - 1, size=len(mixed))
            others += others >= label
            weights = batch_rng.uniform(0.1, 0.4, (len(mixed), 1)).astype(np.float32)
            for other, chosen in _rows_by_label(others):
                second = _peaks(library[other], grid, wavelength, settings, batch_rng, len(chosen))
                patterns[mixed[chosen]] += weights[chosen] * second
        out[rows] = add_background_and_noise(patterns, grid, settings, batch_rng)

    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        list(pool.map(augment_batch, batches, rng.spawn(len(batches))))
    return out


def clean_pattern(refl: Reflections, grid: Grid, wavelength: float, fwhm: float) -> np.ndarray:
    """The unaugmented pattern with Gaussian peaks of a fixed FWHM, scaled to a maximum of 1."""
    two_theta, intensity = stick_intensities(refl, wavelength)
    finite = np.isfinite(two_theta)
    widths = np.full(int(finite.sum()), fwhm)
    return normalise(render_profiles(grid, two_theta[finite], intensity[finite], widths, 0.0)).astype(np.float32)
