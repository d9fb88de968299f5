"""Physics-informed augmentation: augmented patterns recomputed from the reflection cache, vectorised, no pymatgen.

Each effect is switched on and sized in config (``xrd.augmentation``):

* Debye-Waller: per-element B (angstrom^2), intensities times exp(-B s^2), s = sin(theta)/lambda.
* Strain: a random strain the crystal system allows deforms the cell (cubic: isotropic; tetragonal, trigonal and
  hexagonal: a and c; orthorhombic: a, b, c; lower symmetries: every free cell parameter), so that symmetry-equivalent
  reflections stay together; peak positions follow from the strained reciprocal lattice (a stretched cell moves
  peaks to lower angles), scattering factors and Lorentz-polarisation follow too.
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
import scipy.special

from fingerprintml.seeds import rng_for
from fingerprintml.xrd import kernels
from fingerprintml.xrd.patterns import Grid, Preprocessing, crop_ranges, network_inputs, normalise
from fingerprintml.xrd.reflections import Reflections, metric_terms, orientation_terms, stick_intensities

ORIENTATION_AXES = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 1, 1]], dtype=float)
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
NORMAL_QUANTILES = scipy.special.ndtri((np.arange(2**16) + 0.5) / 2**16).astype(np.float32)


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
    """Reciprocal lattices (copies, 3, 3) of the cell deformed by strains whose coefficients along each of the
    structure's allowed strain modes (largest component 1) are uniform in +-``strain``."""
    coefficients = rng.uniform(-strain, strain, (copies, len(refl.strain_modes)))
    tensor = np.einsum("cm,mij->cij", coefficients, refl.strain_modes)
    return np.linalg.inv(refl.lattice @ (np.eye(3) + tensor)).transpose(0, 2, 1)


def augmented_sticks(
    refl: Reflections, wavelength: float, settings: dict[str, Any], rng: np.random.Generator, copies: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-theta, intensity and FWHM (deg) of the augmented sticks of ``copies`` copies of one structure (K-alpha2
    sticks after the K-alpha1 ones), each (copies, K); every copy draws its own random parameters here, and the
    compiled :func:`fingerprintml.xrd.kernels.sticks` applies them to every reflection. Sticks dropped (beyond the
    limiting sphere, eliminated, or negligible) have intensity 0."""
    s = settings
    elements = len(refl.symbols)
    metrics = np.empty((0, 6))
    if s["strain"]["enabled"] and s["strain"]["max"] > 0:
        reciprocal = _strained_reciprocals(refl, s["strain"]["max"], rng, copies)
        metrics = metric_terms(reciprocal) / 4
    else:
        reciprocal = np.broadcast_to(refl.reciprocal, (copies, 3, 3))
    b_factors = np.empty((0, elements))
    if s["debye_waller"]["enabled"]:
        b_factors = rng.uniform(0, s["debye_waller"]["b_max"], (copies, elements))
    orientation_r, orientation_axis = np.ones(copies), np.zeros((copies, 4))
    if s["preferred_orientation"]["enabled"]:
        orientation_r = rng.uniform(s["preferred_orientation"]["r_min"], 1.0, copies)
        directions = ORIENTATION_AXES[rng.integers(len(ORIENTATION_AXES), size=copies)]
        orientation_axis = orientation_terms(directions, reciprocal)
    family_scale = np.empty((0, 1))
    if s["peak_scaling"]["enabled"]:
        n_families = int(refl.family.max()) + 1
        family_scale = np.exp(s["peak_scaling"]["sigma"] * rng.standard_normal((copies, n_families)))
        family_scale[rng.random((copies, n_families)) < s["peak_scaling"]["drop_fraction"]] = 0.0
    zero_shift = np.zeros(copies)
    if s["zero_shift"]["enabled"]:
        zero_shift = rng.uniform(-s["zero_shift"]["max"], s["zero_shift"]["max"], copies)
    instrument_fwhm = rng.uniform(*s["profile"]["instrument_fwhm"], copies)
    scherrer = np.zeros(copies)
    if s["crystallite_size"]["enabled"]:
        size = 10 * rng.uniform(s["crystallite_size"]["min_nm"], s["crystallite_size"]["max_nm"], copies)  # A
        scherrer = s["crystallite_size"]["shape_factor"] * wavelength / size
    kalpha2 = s["kalpha2"]["enabled"]
    shape = (copies, (2 if kalpha2 else 1) * len(refl.hkl))
    # single precision: two-theta to 1e-5 deg, ample for rendering; half the memory traffic
    two_theta, intensity, fwhm = (np.empty(shape, dtype=np.float32) for _ in range(3))
    kernels.sticks(
        **refl.kernel_inputs,
        metrics=np.ascontiguousarray(metrics),
        b_factors=b_factors,
        orientation_r=orientation_r,
        orientation_axis=orientation_axis,
        family_scale=family_scale,
        wavelength=float(wavelength),
        floor=RENDER_FLOOR,
        kalpha2_factor=s["kalpha2"]["wavelength"] / wavelength if kalpha2 else 1.0,
        kalpha2_ratio=float(s["kalpha2"]["ratio"]) if kalpha2 else 0.0,
        zero_shift=zero_shift,
        instrument_fwhm=instrument_fwhm,
        scherrer=scherrer,
        two_theta=two_theta,
        intensity=intensity,
        fwhm=fwhm,
    )
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
    two_theta, intensity, fwhm = (np.ascontiguousarray(np.atleast_2d(a)) for a in (two_theta, intensity, fwhm))
    copies = len(two_theta)
    eta = np.broadcast_to(np.asarray(eta, dtype=float), (copies,))
    widest = kernels.widest_profile(two_theta, intensity, fwhm) or grid.step
    pad = int(min(MAX_HALF_WINDOW, max(2, math.ceil(RENDER_PAD_FWHM * widest / grid.step))))
    segment = -(-grid.size // RENDER_BANDS)
    length = scipy.fft.next_fast_len(segment + 2 * pad + 2, real=True)
    deposits, band_fwhm = kernels.deposit_bands(
        two_theta, intensity, fwhm, grid.start, grid.step, grid.size, segment, RENDER_BANDS, pad, length
    )
    spectrum = scipy.fft.rfft(deposits, axis=1)
    kernels.apply_pseudo_voigt(spectrum, band_fwhm, np.repeat(eta, RENDER_BANDS), grid.step, length)
    convolved = scipy.fft.irfft(spectrum, n=length, axis=1).reshape(copies, RENDER_BANDS, length)
    out = kernels.overlap_add(convolved, segment, pad, grid.size)
    return out[0] if single else out


def _random_words(rng: np.random.Generator, count: int) -> np.ndarray:
    """``count`` 32-bit words of ``rng``'s raw stream (uint32)."""
    return rng.bit_generator.random_raw(-(-count // 2)).view(np.uint32)[:count]


def counting_noise(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Counts (float32) drawn around ``expected`` (float32 counts): exact Poisson where fewer than
    EXACT_POISSON_BELOW are expected, elsewhere the rounded Cornish-Fisher expansion of the Poisson quantile,
    lambda + sqrt(lambda) z + (z^2 - 1) / 6, whose distribution is within sampling error of Poisson (total
    variation below 0.003 from lambda = 10 up) at a fraction of the cost of drawing Poisson variates. Each count
    takes 32 bits of ``rng``'s raw stream: the normal z is one of 2^16 equally likely quantiles (beyond +-4.3
    sigma, probability 1.5e-5, it is clipped), the exact draws invert the Poisson distribution function."""
    flat = np.ascontiguousarray(expected, dtype=np.float32).ravel()
    counts = np.empty_like(flat)
    kernels.poisson_counts(flat, _random_words(rng, flat.size), NORMAL_QUANTILES, EXACT_POISSON_BELOW, counts)
    return counts.reshape(np.shape(expected))


def add_background_and_noise(
    patterns: np.ndarray, grid: Grid, settings: dict[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """Smooth background (sloping line plus an amorphous hump) and Poisson counting noise (see
    :func:`counting_noise`) on patterns (C, grid.size), each copy its own; returns them max-1 scaled (float32)."""
    patterns = np.array(patterns, dtype=np.float32)
    copies = len(patterns)
    level = slope = centre = width = hump = np.zeros(copies)
    if settings["background"]["enabled"]:
        level, slope, centre, width, hump = (
            rng.uniform(low, high, copies)
            for low, high in [(0, settings["background"]["max_fraction"]), (-1, 1), (0.1, 0.35), (0.04, 0.12), (0, 2)]
        )
    counts, bits = np.zeros(copies), np.empty(0, dtype=np.uint32)
    if settings["noise"]["enabled"]:
        noise = settings["noise"]
        counts = np.exp(rng.uniform(math.log(noise["min_counts"]), math.log(noise["max_counts"]), copies))
        bits = _random_words(rng, patterns.size)
    kernels.background_and_noise(
        patterns,
        grid.step / (grid.stop - grid.start),
        level,
        slope,
        centre,
        width,
        hump,
        counts,
        bits,
        NORMAL_QUANTILES,
        EXACT_POISSON_BELOW,
    )
    return patterns


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
    *,
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
    library = [refl.allowed for refl in library]
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


def training_set(
    library: list[Reflections],
    grid: Grid,
    wavelength: float,
    settings: dict[str, Any],
    preprocessing: Preprocessing,
    *,
    copies: int,
    validation_copies: int,
    seed: int,
    split: str,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """The network inputs a model of ``split`` trains on: ``copies`` (train_x, train_y) and ``validation_copies``
    (validation_x, validation_y) of each phase of ``library``, labelled by position in it, each set from its own
    seed stream; augmented patterns cut to partial ranges (:func:`fingerprintml.xrd.patterns.crop_ranges`) and
    preprocessed as measured queries are (:func:`fingerprintml.xrd.patterns.network_inputs`)."""
    arrays = {}
    for name, count in [("train", copies), ("validation", validation_copies)]:
        labels = np.repeat(np.arange(len(library)), count)
        rng = rng_for(seed, "xrd", split, name)
        patterns = augmented_set(library, labels, grid, wavelength, settings, rng, threads=threads)
        ranges = crop_ranges(len(labels), grid, preprocessing, rng_for(seed, "xrd", split, name, "range"))
        arrays[f"{name}_x"] = network_inputs(patterns, grid, preprocessing, ranges)
        arrays[f"{name}_y"] = labels
    return arrays
