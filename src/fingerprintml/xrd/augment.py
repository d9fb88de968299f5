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
* Zero shift of the two-theta axis; smooth background with an amorphous hump; Poisson counting noise.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np

from fingerprintml.xrd.patterns import Grid, normalise
from fingerprintml.xrd.reflections import Reflections, stick_intensities

ORIENTATION_AXES = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 1, 0], [1, 1, 1]], dtype=float)
FOUR_LN2 = 4 * math.log(2)
# Sticks weaker than this fraction of the strongest are not rendered (far below any noise level).
RENDER_FLOOR = 1e-5
RENDER_BANDS = 6
MAX_HALF_WINDOW = 2000


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


def _strained_reciprocal(refl: Reflections, strain: float, rng: np.random.Generator) -> np.ndarray:
    if strain <= 0:
        return refl.reciprocal
    tensor = rng.uniform(-strain, strain, (3, 3))
    tensor = (tensor + tensor.T) / 2
    return np.linalg.inv(refl.lattice @ (np.eye(3) + tensor)).T


def augmented_sticks(
    refl: Reflections, wavelength: float, settings: dict[str, Any], rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-theta, intensity and FWHM (deg) of the augmented sticks of one structure (K-alpha2 included)."""
    s = settings
    reciprocal = _strained_reciprocal(refl, s["strain"]["max"] if s["strain"]["enabled"] else 0.0, rng)
    b_factors = None
    if s["debye_waller"]["enabled"]:
        b_factors = rng.uniform(0, s["debye_waller"]["b_max"], len(refl.symbols))
    two_theta, intensity = stick_intensities(refl, wavelength, reciprocal, b_factors)
    if s["preferred_orientation"]["enabled"]:
        r = rng.uniform(s["preferred_orientation"]["r_min"], 1.0)
        axis = ORIENTATION_AXES[rng.integers(len(ORIENTATION_AXES))] @ reciprocal
        g = refl.hkl @ reciprocal
        cos2 = (g @ axis) ** 2 / np.maximum((g * g).sum(axis=1) * (axis @ axis), 1e-30)
        intensity = intensity * (r**2 * cos2 + (1 - cos2) / r) ** -1.5
    if s["peak_scaling"]["enabled"]:
        n_families = int(refl.family.max()) + 1
        factors = np.exp(s["peak_scaling"]["sigma"] * rng.standard_normal(n_families))
        factors[rng.random(n_families) < s["peak_scaling"]["drop_fraction"]] = 0.0
        intensity = intensity * factors[refl.family]
    finite = np.isfinite(two_theta) & (intensity > RENDER_FLOOR * max(intensity.max(), 1e-300))
    two_theta, intensity = two_theta[finite], intensity[finite]
    if s["kalpha2"]["enabled"]:
        ratio = s["kalpha2"]["wavelength"] / wavelength
        sin2 = np.sin(np.radians(two_theta) / 2) * ratio
        reach = sin2 < 1
        two_theta = np.concatenate([two_theta, np.degrees(2 * np.arcsin(sin2[reach]))])
        intensity = np.concatenate([intensity, s["kalpha2"]["ratio"] * intensity[reach]])
    if s["zero_shift"]["enabled"]:
        two_theta = two_theta + rng.uniform(-s["zero_shift"]["max"], s["zero_shift"]["max"])
    fwhm_instrument = rng.uniform(*s["profile"]["instrument_fwhm"])
    fwhm = np.full(len(two_theta), fwhm_instrument)
    if s["crystallite_size"]["enabled"]:
        size = 10 * rng.uniform(s["crystallite_size"]["min_nm"], s["crystallite_size"]["max_nm"])  # angstrom
        scherrer = np.degrees(
            s["crystallite_size"]["shape_factor"] * wavelength / (size * np.cos(np.radians(two_theta / 2)))
        )
        fwhm = np.sqrt(fwhm**2 + scherrer**2)
    return two_theta, intensity, fwhm


def render_profiles(
    grid: Grid, two_theta: np.ndarray, intensity: np.ndarray, fwhm: np.ndarray, eta: float
) -> np.ndarray:
    """Sum of area-normalised pseudo-Voigt peaks (Lorentzian fraction ``eta``) on the grid.

    Sticks are deposited on the grid and convolved, by FFT, with one profile per two-theta band (the band's
    intensity-weighted mean FWHM; RENDER_BANDS bands over the grid follow the 1/cos(theta) growth of Scherrer
    widths to within ~10 %); the grid is padded by 5 FWHM on each side against wrap-around.
    """
    inside = (two_theta > grid.start - 1) & (two_theta < grid.stop + 1) & (intensity > 0)
    two_theta, intensity, fwhm = two_theta[inside], intensity[inside], fwhm[inside]
    if len(two_theta) == 0:
        return np.zeros(grid.size)
    band = np.clip(
        ((two_theta - grid.start) / (grid.stop - grid.start) * RENDER_BANDS).astype(int), 0, RENDER_BANDS - 1
    )
    weight = np.bincount(band, weights=intensity, minlength=RENDER_BANDS)
    band_fwhm = np.bincount(band, weights=intensity * fwhm, minlength=RENDER_BANDS) / np.where(weight > 0, weight, 1)
    half = int(min(MAX_HALF_WINDOW, max(2, math.ceil(5 * band_fwhm.max() / grid.step))))
    size = grid.size + 2 * half
    length = 1 << size.bit_length()  # > size: room for the right neighbour of the last deposit
    position = np.clip((two_theta - grid.start) / grid.step, -half, grid.size - 1 + half) + half
    left = np.floor(position).astype(np.int64)
    fraction = position - left
    flat = band * length + left
    deposits = np.bincount(flat, weights=intensity * (1 - fraction), minlength=RENDER_BANDS * length)
    deposits += np.bincount(flat + 1, weights=intensity * fraction, minlength=RENDER_BANDS * length)
    # Profiles enter through their analytic Fourier transforms (area-normalised Gaussian and Lorentzian of FWHM w):
    # exp(-(pi w f)^2 / (4 ln 2)) and exp(-pi w |f|), f in cycles per degree.
    frequency = np.fft.rfftfreq(length, d=grid.step)[None]
    widths = band_fwhm[:, None]
    kernels = eta * np.exp(-math.pi * widths * frequency) + (1 - eta) * np.exp(
        -((math.pi * widths * frequency) ** 2) / FOUR_LN2
    )
    spectrum = np.fft.rfft(deposits.reshape(RENDER_BANDS, length), axis=1) * kernels
    out = np.fft.irfft(spectrum.sum(axis=0), n=length)
    return np.clip(out[half : half + grid.size], 0, None)


def add_background_and_noise(pattern: np.ndarray, grid: Grid, settings: dict[str, Any], rng: np.random.Generator):
    """Smooth background (sloping line plus an amorphous hump) and Poisson counting noise; returns max-1 scaled."""
    pattern = normalise(pattern)
    if settings["background"]["enabled"]:
        x = (grid.two_theta - grid.start) / (grid.stop - grid.start)
        level = rng.uniform(0, settings["background"]["max_fraction"])
        slope = rng.uniform(-1, 1)
        centre, width = rng.uniform(0.1, 0.35), rng.uniform(0.04, 0.12)
        shape = 1 + 0.5 * slope * (1 - 2 * x) + rng.uniform(0, 2) * np.exp(-0.5 * ((x - centre) / width) ** 2)
        pattern = pattern + level * shape / shape.max()
    if settings["noise"]["enabled"]:
        counts = math.exp(
            rng.uniform(math.log(settings["noise"]["min_counts"]), math.log(settings["noise"]["max_counts"]))
        )
        pattern = rng.poisson(np.clip(pattern, 0, None) * counts) / counts
    return normalise(pattern)


def augmented_pattern(
    refl: Reflections, grid: Grid, wavelength: float, settings: dict[str, Any], rng: np.random.Generator
) -> np.ndarray:
    """One augmented pattern of a structure on the grid, scaled to a maximum of 1 (float32)."""
    return add_background_and_noise(_peaks(refl, grid, wavelength, settings, rng), grid, settings, rng).astype(
        np.float32
    )


def _peaks(
    refl: Reflections, grid: Grid, wavelength: float, settings: dict[str, Any], rng: np.random.Generator
) -> np.ndarray:
    two_theta, intensity, fwhm = augmented_sticks(refl, wavelength, settings, rng)
    profile = settings["profile"]
    eta = rng.uniform(profile["eta_min"], profile["eta_max"]) if profile["pseudo_voigt"] else 0.0
    return render_profiles(grid, two_theta, intensity, fwhm, eta)


def augmented_set(
    library: list[Reflections],
    labels: np.ndarray,
    grid: Grid,
    wavelength: float,
    settings: dict[str, Any],
    rng: np.random.Generator,
    mixture_fraction: float = 0.0,
) -> np.ndarray:
    """Augmented patterns (N, grid.size) for the class ``labels``; a ``mixture_fraction`` of them get a second,
    weaker phase (weight 0.1-0.4 of the labelled one) added before noise."""
    out = np.empty((len(labels), grid.size), dtype=np.float32)
    for row, label in enumerate(labels):
        pattern = normalise(_peaks(library[label], grid, wavelength, settings, rng))
        if rng.random() < mixture_fraction:
            other = int(rng.integers(len(library) - 1))
            other += other >= label
            pattern += rng.uniform(0.1, 0.4) * normalise(_peaks(library[other], grid, wavelength, settings, rng))
        out[row] = add_background_and_noise(pattern, grid, settings, rng)
    return out


def clean_pattern(refl: Reflections, grid: Grid, wavelength: float, fwhm: float) -> np.ndarray:
    """The unaugmented pattern with Gaussian peaks of a fixed FWHM, scaled to a maximum of 1."""
    two_theta, intensity = stick_intensities(refl, wavelength)
    finite = np.isfinite(two_theta)
    widths = np.full(int(finite.sum()), fwhm)
    return normalise(render_profiles(grid, two_theta[finite], intensity[finite], widths, 0.0)).astype(np.float32)
