"""Anomalous dispersion on measured patterns: the NiO (111)/(200) integrated-intensity ratio of the dara scans
(CederGroupHub/dara, Panalytical Aeris, Cu K-alpha) against the ratio computed from the NiO reference CIF without and
with f' + i f'' (:mod:`fingerprintml.xrd.reflections`), and the whole-pattern fit's NiO weight fraction on the fully
referenced NiO mixtures, each way.

Measured ratio: each peak fitted alone in a window of +-``--window`` deg (a K-alpha1 + K-alpha2 pseudo-Voigt doublet
at the file's wavelengths and ratio, free position, width, Lorentzian fraction and area, on a straight background;
Poisson weights), the ratio of the areas. Both sides include Lorentz-polarisation, so they compare directly. A
scan where another phase's peak falls in a window gives a biased ratio: the table names the mixture.

Run: PYTHONPATH=src python tests/benchmarks/xrd_dispersion.py [--mirror ../shared/mirror] [--only 8min] [--no-fit]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from pymatgen.core import Composition
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer
from scipy import optimize

from fingerprintml.download import load_registry
from fingerprintml.xrd.dara import CIF_PREFIX, PATTERN_PREFIX, declared_files, mixture_truth
from fingerprintml.xrd.refine import FitPhase, FitSettings, Radiation, fit_pattern
from fingerprintml.xrd.reflections import compute_reflections, stick_intensities
from fingerprintml.xrd.structures import SYMPREC, read_cif
from fingerprintml.xrd.xrdml import read_xrdml

REPO = Path(__file__).resolve().parents[2]


def _pseudo_voigt(x: np.ndarray, centre: float, fwhm: float, eta: float) -> np.ndarray:
    """Area-normalised pseudo-Voigt."""
    gauss = math.sqrt(4 * math.log(2) / math.pi) / fwhm * np.exp(-4 * math.log(2) * (x - centre) ** 2 / fwhm**2)
    lorentz = fwhm / (2 * math.pi) / ((x - centre) ** 2 + fwhm**2 / 4)
    return (1 - eta) * gauss + eta * lorentz


def peak_area(scan, centre: float, window: float) -> float:
    """Area (counts x deg, K-alpha1 + K-alpha2) of the peak nearest ``centre`` (deg) of the scan."""
    inside = np.abs(scan.two_theta - centre) < window
    x, y = scan.two_theta[inside], scan.counts[inside]
    ratio = scan.kalpha2_ratio or 0.0

    def model(p: np.ndarray) -> np.ndarray:
        position, fwhm, eta, area, level, slope = p
        second = math.degrees(2 * math.asin(math.sin(math.radians(position / 2)) * scan.kalpha2 / scan.kalpha1))
        doublet = _pseudo_voigt(x, position, fwhm, eta) + ratio * _pseudo_voigt(x, second, fwhm, eta)
        return area * doublet + level + slope * (x - centre)

    level = float(np.percentile(y, 10))
    start = [x[np.argmax(y)], 0.1, 0.5, (y.max() - level) * 0.15, level, 0.0]
    bounds = ([centre - window, 0.02, 0.0, 0.0, 0.0, -np.inf], [centre + window, 1.0, 1.0, np.inf, np.inf, np.inf])
    fit = optimize.least_squares(lambda p: (model(p) - y) / np.sqrt(np.maximum(y, 1)), start, bounds=bounds)
    return float(fit.x[3] * (1 + ratio))


def computed_ratio(structure, wavelength: float, dispersion: bool) -> tuple[float, float, float]:
    """(111)/(200) ratio of the cached sticks and the two peaks' two-theta (deg)."""
    refl = compute_reflections(structure, wavelength, 60, dispersion=dispersion).allowed
    two_theta, intensity = stick_intensities(refl, wavelength)
    sums = np.bincount(refl.family, weights=intensity)
    first, second = np.unique(refl.family)[:2]
    at = [float(two_theta[refl.family == f][0]) for f in (first, second)]
    return float(sums[first] / sums[second]), at[0], at[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", default=str(REPO.parent / "shared" / "mirror"))
    parser.add_argument("--only", default="", help="substring the pattern names must contain")
    parser.add_argument("--window", type=float, default=0.7)
    parser.add_argument("--no-fit", action="store_true", help="peak ratios only, no whole-pattern fits")
    args = parser.parse_args()
    registry = load_registry(REPO / "resources" / "remote_files.yaml")
    cifs = {Path(path).stem: path for path in declared_files(registry, CIF_PREFIX, args.mirror)}
    patterns = declared_files(registry, PATTERN_PREFIX, args.mirror)
    patterns = [p for p in patterns if "NiO" in mixture_truth(p).fractions and args.only in Path(p).name]
    structures = {
        stem: SpacegroupAnalyzer(read_cif(path), symprec=SYMPREC).get_conventional_standard_structure()
        for stem, path in cifs.items()
    }
    nio = structures["NiO-Bunsenite"]
    first = read_xrdml(patterns[0])
    ratios = {flag: computed_ratio(nio, first.kalpha1, flag) for flag in (False, True)}
    _, at111, at200 = ratios[False]
    print(f"computed NiO (111)/(200): without dispersion {ratios[False][0]:.3f}, with {ratios[True][0]:.3f}")
    measured = []
    for path in patterns:
        scan = read_xrdml(path)
        value = peak_area(scan, at111, args.window) / peak_area(scan, at200, args.window)
        measured.append(value)
        print(f"  measured {value:.3f}  {Path(path).name}")
    print(f"measured median {np.median(measured):.3f} over {len(measured)} scans")
    if args.no_fit:
        return
    formulas = {Composition(stem.split("-")[0]).reduced_formula for stem in structures}
    referenced = [p for p in patterns if set(mixture_truth(p).fractions) <= formulas]
    radiation = Radiation(first.kalpha1, first.kalpha2, first.kalpha2_ratio or 0.0)
    libraries = {
        flag: [
            FitPhase.from_structure(stem, s, radiation, float(first.two_theta[-1]), dispersion=flag)
            for stem, s in structures.items()
        ]
        for flag in (False, True)
    }
    print("whole-pattern fit, NiO wt%: weighed / without dispersion / with (Rwp without / with)")
    for path in referenced:
        scan = read_xrdml(path)
        found = {}
        for flag, library in libraries.items():
            result = fit_pattern(scan.two_theta, scan.counts, library, radiation, FitSettings())
            fractions = {library[p.index].name: p.weight_fraction for p in result.phases}
            found[flag] = (100 * fractions.get("NiO-Bunsenite", 0.0), result.rwp)
        weighed = 100 * mixture_truth(path).fractions["NiO"]
        print(
            f"  {weighed:5.1f} / {found[False][0]:5.1f} / {found[True][0]:5.1f}"
            f"  ({found[False][1]:.3f} / {found[True][1]:.3f})  {Path(path).name}",
            flush=True,
        )


if __name__ == "__main__":
    main()
