"""Detector response: energy resolution, full-energy efficiency and the response of the detector to one line.

All parameters come from the ``gamma.detector`` config block, so a user trains for another detector by setting
its resolution and efficiency there.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import ndtr

ELECTRON_MASS_KEV = 510.999
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


def fwhm_kev(energy: np.ndarray | float, resolution: dict[str, float]) -> np.ndarray:
    """FWHM (keV) = sqrt(a^2 + b^2 E + (c E)^2): electronic noise, counting statistics and a constant term."""
    energy = np.asarray(energy, dtype=float)
    a, b, c = resolution["a"], resolution["b"], resolution["c"]
    return np.sqrt(a**2 + b**2 * energy + (c * energy) ** 2)


def sigma_kev(energy: np.ndarray | float, resolution: dict[str, float]) -> np.ndarray:
    """Gaussian standard deviation (keV) of a line at ``energy``."""
    return fwhm_kev(energy, resolution) / FWHM_PER_SIGMA


def efficiency(energy: np.ndarray | float, params: dict[str, float]) -> np.ndarray:
    """Absolute full-energy-peak efficiency at the reference distance.

    eff(E) = peak * (1 - exp(-(E / low_cutoff)^3)) / (1 + (E / knee)^slope): flat at low energy apart from the
    entrance-window cut-off, falling as a power law above the knee.
    """
    energy = np.asarray(energy, dtype=float)
    window = 1.0 - np.exp(-((energy / params["low_cutoff_kev"]) ** 3))
    return params["peak"] * window / (1.0 + (energy / params["knee_kev"]) ** params["slope"])


def peak_to_total(energy: np.ndarray | float, params: dict[str, float]) -> np.ndarray:
    """Fraction of the detected photons of ``energy`` that deposit their full energy: 1 / (1 + (E / e0)^k)."""
    energy = np.asarray(energy, dtype=float)
    return 1.0 / (1.0 + (energy / params["energy_kev"]) ** params["slope"])


def geometry_factor(distance_cm: np.ndarray | float, reference_distance_cm: float) -> np.ndarray:
    """Inverse-square scaling of the efficiency from the reference distance to ``distance_cm``."""
    return (reference_distance_cm / np.asarray(distance_cm, dtype=float)) ** 2


def compton_shape(energy: float, grid: np.ndarray) -> np.ndarray:
    """Klein-Nishina distribution of the energy given to the electron by one Compton scatter of a photon of
    ``energy``, on the 1 keV ``grid`` of deposited energies, normalised to unit sum (zero above the Compton edge)."""
    eps = energy / ELECTRON_MASS_KEV
    edge = energy * 2 * eps / (1 + 2 * eps)
    s = np.clip(grid / energy, 0.0, edge / energy)
    density = 2 + s**2 / (eps**2 * (1 - s) ** 2) + s / (1 - s) * (s - 2 / eps)
    density = np.where(grid <= edge, density, 0.0)
    total = density.sum()
    return density / total if total > 0 else density


def integrate_to_channels(density: np.ndarray, grid_edges: np.ndarray, channel_edges: np.ndarray) -> np.ndarray:
    """Sum a density given per fine bin (edges ``grid_edges``) into channels (edges ``channel_edges``)."""
    cumulative = np.concatenate([[0.0], np.cumsum(density, axis=-1)])
    at_edges = np.interp(channel_edges, grid_edges, cumulative)
    return np.diff(at_edges)


def continuum_response(energy: float, kind: str, channel_edges: np.ndarray, detector: dict[str, Any]) -> np.ndarray:
    """Expected counts per channel outside the full-energy peak, per full-energy count of a line: for gamma and
    annihilation lines the Compton continuum with its edge (multiple scattering filling the gap to the peak) and
    the backscatter peak, both blurred by the resolution; nothing for X-rays."""
    if kind == "xray":
        return np.zeros(len(channel_edges) - 1)
    resolution = detector["resolution"]
    total_fraction = peak_to_total(energy, detector["peak_to_total"])
    continuum_per_peak = (1 - total_fraction) / total_fraction
    top = max(channel_edges[-1], energy) + 10 * float(sigma_kev(energy, resolution))
    grid_edges = np.arange(0.0, top + 1.0, 1.0)
    grid = 0.5 * (grid_edges[1:] + grid_edges[:-1])
    edge = energy * 2 * (energy / ELECTRON_MASS_KEV) / (1 + 2 * energy / ELECTRON_MASS_KEV)
    gap = (grid > edge) & (grid < energy)
    fill = detector["compton"]["multiple_scatter_fraction"]
    continuum = continuum_per_peak * ((1 - fill) * compton_shape(energy, grid) + fill * gap / max(gap.sum(), 1))
    backscatter_energy = energy / (1 + 2 * energy / ELECTRON_MASS_KEV)
    backscatter_sigma = detector["compton"]["backscatter_broadening"] * float(sigma_kev(backscatter_energy, resolution))
    backscatter = detector["compton"]["backscatter_fraction"] * np.diff(
        ndtr((grid_edges - backscatter_energy) / backscatter_sigma)
    )
    blurred = gaussian_filter1d(continuum, float(sigma_kev(energy / 2, resolution)), mode="constant")
    return integrate_to_channels(blurred + backscatter, grid_edges, channel_edges)


def line_response(energy: float, kind: str, channel_edges: np.ndarray, detector: dict[str, Any]) -> np.ndarray:
    """Expected counts per channel for one full-energy count of a line: the full-energy Gaussian plus
    :func:`continuum_response`."""
    sigma = float(sigma_kev(energy, detector["resolution"]))
    peak = np.diff(ndtr((channel_edges - energy) / sigma))
    return peak + continuum_response(energy, kind, channel_edges, detector)


def line_responses(
    energies: np.ndarray, kinds: list[str], channel_edges: np.ndarray, detector: dict[str, Any]
) -> np.ndarray:
    """(n_lines, n_channels) responses of :func:`line_response`."""
    return np.array([line_response(e, k, channel_edges, detector) for e, k in zip(energies, kinds, strict=True)])
