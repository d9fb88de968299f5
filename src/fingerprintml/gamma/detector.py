"""Detector response: energy resolution, full-energy efficiency and the response of the detector to one line.

All parameters come from a detector block (``gamma.detector``: a preset of :mod:`fingerprintml.gamma.presets` or
the user's own block), so a user trains for another detector by naming it there. :class:`DetectorPreset` is the
same block as callables (FWHM, efficiency, peak-to-total at an energy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import ndtr

from fingerprintml.gamma.presets import resolve_detector

ELECTRON_MASS_KEV = 510.999
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))
PAIR_THRESHOLD_KEV = 2 * ELECTRON_MASS_KEV
PAIR_REFERENCE_KEV = 2614.511
PHOTOELECTRIC_EXPONENT = 2.7


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


def geometry_factor(distance_cm: np.ndarray | float, efficiency_params: Mapping[str, float]) -> np.ndarray:
    """Scaling of the efficiency of an ``efficiency`` block from its reference distance to ``distance_cm``: the
    ratio of the solid angles of a disc of its ``radius_cm`` on axis, or the inverse square where it has none."""
    distance = np.asarray(distance_cm, dtype=float)
    reference = efficiency_params["reference_distance_cm"]
    radius = efficiency_params.get("radius_cm")
    if radius is None:
        return (reference / distance) ** 2
    return (1.0 - distance / np.hypot(distance, radius)) / (1.0 - reference / np.hypot(reference, radius))


def escape_fractions(energy: float, shells: list[Mapping[str, Any]]) -> list[tuple[float, float]]:
    """(K X-ray energy, escape fraction) of each fluorescence line that can escape after photoabsorption of a
    photon of ``energy``: share x fluorescence yield x K-shell share of absorption (1 - 1/jump) x the escape
    probability from a semi-infinite slab at normal incidence, 0.5 (1 - ln(1 + r) / r) with r = mu(E) / mu(X),
    mu(E) scaling as E^-2.7 with the jump at the edge, i.e. r = jump (E_X / E)^2.7 (Knoll, ch. 10)."""
    out = []
    for shell in shells:
        if energy <= shell["edge_kev"]:
            continue
        k_share = shell["share"] * shell["fluorescence_yield"] * (1 - 1 / shell["jump_ratio"])
        for x_energy, weight in shell["lines_kev"]:
            r = shell["jump_ratio"] * (x_energy / energy) ** PHOTOELECTRIC_EXPONENT
            out.append((float(x_energy), k_share * weight * 0.5 * (1 - np.log1p(r) / r)))
    return out


def escape_peaks(energy: float, detector: Mapping[str, Any]) -> list[tuple[float, float]]:
    """(deposited energy, area per full-energy count) of the escape peaks of a line: the K X-ray escapes of the
    detector's shells (escape fraction f gives f / (1 - f) per full-energy count, summed f) and, above 1022 keV,
    the single and double escape peaks, scaled linearly from their values at 2614.5 keV."""
    escapes = escape_fractions(energy, detector.get("escape", []))
    total = sum(f for _, f in escapes)
    peaks = [(energy - x, f / (1 - total)) for x, f in escapes]
    if energy > PAIR_THRESHOLD_KEV:
        scale = (energy - PAIR_THRESHOLD_KEV) / (PAIR_REFERENCE_KEV - PAIR_THRESHOLD_KEV)
        pair = detector.get("pair_escape", {})
        peaks += [(energy - ELECTRON_MASS_KEV, scale * pair.get("single", 0.0))]
        peaks += [(energy - PAIR_THRESHOLD_KEV, scale * pair.get("double", 0.0))]
    return [(e, a) for e, a in peaks if a > 0]


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


def continuum_response(energy: float, kind: str, channel_edges: np.ndarray, detector: Mapping[str, Any]) -> np.ndarray:
    """Expected counts per channel outside the full-energy peak, per full-energy count of a line: the escape peaks
    (:func:`escape_peaks`) and, for gamma and annihilation lines, the Compton continuum with its edge (multiple
    scattering filling the gap to the peak) and the backscatter peak, all blurred by the resolution."""
    resolution = detector["resolution"]
    escapes = sum(
        (
            area * np.diff(ndtr((channel_edges - e) / float(sigma_kev(e, resolution))))
            for e, area in escape_peaks(energy, detector)
        ),
        np.zeros(len(channel_edges) - 1),
    )
    if kind == "xray":
        return escapes
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
    return integrate_to_channels(blurred + backscatter, grid_edges, channel_edges) + escapes


def line_response(energy: float, kind: str, channel_edges: np.ndarray, detector: Mapping[str, Any]) -> np.ndarray:
    """Expected counts per channel for one full-energy count of a line: the full-energy Gaussian plus
    :func:`continuum_response`."""
    sigma = float(sigma_kev(energy, detector["resolution"]))
    peak = np.diff(ndtr((channel_edges - energy) / sigma))
    return peak + continuum_response(energy, kind, channel_edges, detector)


def line_responses(
    energies: np.ndarray, kinds: list[str], channel_edges: np.ndarray, detector: Mapping[str, Any]
) -> np.ndarray:
    """(n_lines, n_channels) responses of :func:`line_response`."""
    return np.array([line_response(e, k, channel_edges, detector) for e, k in zip(energies, kinds, strict=True)])


@dataclass(frozen=True)
class DetectorPreset:
    """A detector as callables of energy (keV): what a peak matcher or fitter needs from ``gamma.detector`` or
    ``gamma.query_detector``. ``block`` is the complete detector block (:func:`presets.resolve_detector`) that the
    simulator and the activity fit take."""

    name: str
    block: Mapping[str, Any]

    @classmethod
    def from_config(cls, value: str | Mapping[str, Any], key: str = "gamma.detector") -> DetectorPreset:
        """The detector of a config value: a preset name, a block naming a preset it overrides, or a whole block."""
        block = resolve_detector(value, key)
        return cls(block["name"], block)

    def fwhm(self, energy_kev: np.ndarray | float) -> np.ndarray:
        """FWHM (keV) at ``energy_kev``."""
        return fwhm_kev(energy_kev, self.block["resolution"])

    def sigma(self, energy_kev: np.ndarray | float) -> np.ndarray:
        """Gaussian standard deviation (keV) at ``energy_kev``."""
        return sigma_kev(energy_kev, self.block["resolution"])

    def efficiency(self, energy_kev: np.ndarray | float, distance_cm: float | None = None) -> np.ndarray:
        """Absolute full-energy efficiency at ``distance_cm`` (None: the reference distance)."""
        params = self.block["efficiency"]
        value = efficiency(energy_kev, params)
        return value if distance_cm is None else value * geometry_factor(distance_cm, params)

    def peak_to_total(self, energy_kev: np.ndarray | float) -> np.ndarray:
        """Full-energy share of the detected photons of ``energy_kev``."""
        return peak_to_total(energy_kev, self.block["peak_to_total"])

    def escape_peaks(self, energy_kev: float) -> list[tuple[float, float]]:
        """(energy, area per full-energy count) of the escape peaks of a line of ``energy_kev``."""
        return escape_peaks(energy_kev, self.block)

    def with_resolution(self, a: float, b: float, c: float, name: str) -> DetectorPreset:
        """This detector with the resolution law sqrt(a^2 + b^2 E + (c E)^2) (e.g. fitted to a spectrum)."""
        block = {**self.block, "name": name, "resolution": {"a": a, "b": b, "c": c}}
        return DetectorPreset(name, block)
