"""Detector presets of the gamma study and the resolution of ``gamma.detector`` / ``gamma.query_detector`` into a
complete detector block. Standard library only: the rules resolve the detector while planning, so a changed preset
reruns what depends on it.

A detector block has
- ``resolution``: FWHM (keV) = sqrt(a^2 + b^2 E + (c E)^2), E in keV;
- ``efficiency``: full-energy efficiency at ``reference_distance_cm``, peak (1 - exp(-(E/low_cutoff)^3)) /
  (1 + (E/knee)^slope), scaled to other distances by the solid angle of a disc of ``radius_cm`` (inverse square
  where the block has no radius);
- ``peak_to_total``: 1 / (1 + (E/energy)^slope);
- ``compton``: multiple-scatter share of the continuum, backscatter peak per peak count and its broadening;
- ``escape``: the K shells whose fluorescence X-rays escape after photoabsorption (edge, fluorescence yield, jump
  ratio, the shell's share of the photoabsorption, K X-ray lines with weights), and ``pair_escape``: single and
  double escape peak per full-energy count at 2614.5 keV, scaled linearly with E - 1022 keV above the threshold.

Resolutions (docs/gamma.md lists the sources): HPGe 0.85 keV at 122 keV and 1.85 keV at 1332 keV (a p-type coaxial
detector's data sheet values, e.g. ORTEC GEM); NaI(Tl) 3"x3" 7.0 % at 662 keV and 5.4 % at 1332 keV; CsI(Tl)
6.5 % and 5.0 %; LaBr3(Ce) 2.8 % and 2.0 % (Saint-Gobain BrilLanCe 380); xenon: the XGD parameters of the original
study (2.8 % at 662 keV). K-shell data (edges, Kalpha/Kbeta energies, fluorescence yields, jump ratios): X-ray Data
Booklet (LBNL, 2009) and Hubbell et al., J. Phys. Chem. Ref. Data 23 (1994) 339.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

COMPTON = {"multiple_scatter_fraction": 0.15, "backscatter_fraction": 0.04, "backscatter_broadening": 2.0}
NO_PAIR_ESCAPE = {"single": 0.0, "double": 0.0}


def _shell(edge: float, yield_: float, jump: float, share: float, lines: list[list[float]]) -> dict[str, Any]:
    return {"edge_kev": edge, "fluorescence_yield": yield_, "jump_ratio": jump, "share": share, "lines_kev": lines}


XE_K = _shell(34.561, 0.891, 5.6, 1.0, [[29.67, 0.81], [33.62, 0.19]])
GE_K = _shell(11.103, 0.535, 7.4, 1.0, [[9.876, 0.88], [10.982, 0.12]])
I_K = _shell(33.169, 0.882, 5.9, 1.0, [[28.51, 0.81], [32.29, 0.19]])
CS_K = _shell(35.985, 0.894, 5.8, 0.5, [[30.85, 0.81], [34.99, 0.19]])
LA_K = _shell(38.925, 0.902, 5.7, 0.8, [[33.30, 0.81], [37.80, 0.19]])

PRESETS: dict[str, dict[str, Any]] = {
    "xenon": {
        "resolution": {"a": 2.0, "b": 0.6, "c": 0.015},
        "efficiency": {"reference_distance_cm": 10.0, "peak": 0.012, "knee_kev": 200.0, "slope": 1.3,
                       "low_cutoff_kev": 25.0},
        "peak_to_total": {"energy_kev": 300.0, "slope": 1.0},
        "compton": COMPTON,
        "escape": [XE_K],
        "pair_escape": {"single": 0.10, "double": 0.05},
    },
    "hpge": {
        "resolution": {"a": 0.671, "b": 0.0472, "c": 0.0},
        "efficiency": {"reference_distance_cm": 10.0, "peak": 0.030, "knee_kev": 150.0, "slope": 1.0,
                       "low_cutoff_kev": 45.0, "radius_cm": 3.0},
        "peak_to_total": {"energy_kev": 400.0, "slope": 1.15},
        "compton": COMPTON,
        "escape": [GE_K],
        "pair_escape": {"single": 0.15, "double": 0.10},
    },
    "nai": {
        "resolution": {"a": 1.0, "b": 1.615, "c": 0.0309},
        "efficiency": {"reference_distance_cm": 10.0, "peak": 0.035, "knee_kev": 500.0, "slope": 1.3,
                       "low_cutoff_kev": 20.0, "radius_cm": 3.81},
        "peak_to_total": {"energy_kev": 600.0, "slope": 1.0},
        "compton": COMPTON,
        "escape": [I_K],
        "pair_escape": {"single": 0.12, "double": 0.03},
    },
    "csi": {
        "resolution": {"a": 1.0, "b": 1.503, "c": 0.0283},
        "efficiency": {"reference_distance_cm": 10.0, "peak": 0.012, "knee_kev": 300.0, "slope": 1.4,
                       "low_cutoff_kev": 25.0, "radius_cm": 1.27},
        "peak_to_total": {"energy_kev": 350.0, "slope": 1.0},
        "compton": COMPTON,
        "escape": [I_K | {"share": 0.5}, CS_K],
        "pair_escape": {"single": 0.15, "double": 0.08},
    },
    "labr3": {
        "resolution": {"a": 1.0, "b": 0.7075, "c": 0.00473},
        "efficiency": {"reference_distance_cm": 10.0, "peak": 0.012, "knee_kev": 350.0, "slope": 1.3,
                       "low_cutoff_kev": 20.0, "radius_cm": 1.9},
        "peak_to_total": {"energy_kev": 400.0, "slope": 1.0},
        "compton": COMPTON,
        "escape": [LA_K],
        "pair_escape": {"single": 0.15, "double": 0.08},
    },
}  # fmt: skip
AUTO = "auto"


def resolve_detector(value: str | Mapping[str, Any], key: str = "gamma.detector") -> dict[str, Any]:
    """The complete detector block of a config value: a preset name (``nai``), a block naming a ``preset`` whose
    sub-blocks it overrides key by key, or a whole block without a preset (a custom detector; without ``escape``
    and ``pair_escape`` it has neither). The block gets the ``name`` of its preset ('custom' without one)."""
    if isinstance(value, str):
        if value not in PRESETS:
            raise ValueError(f"config.yaml: {key} = {value!r} is not a detector preset ({', '.join(PRESETS)})")
        return {"name": value, **copy.deepcopy(PRESETS[value])}
    block = copy.deepcopy(dict(value))
    name = block.pop("preset", None)
    if name is None:
        missing = sorted({"resolution", "efficiency", "peak_to_total", "compton"} - set(block))
        if missing:
            raise ValueError(f"config.yaml: {key} names no preset and lacks {missing}")
        return {"name": "custom", "escape": [], "pair_escape": dict(NO_PAIR_ESCAPE), **block}
    resolved = resolve_detector(name, f"{key}.preset")
    for sub, override in block.items():
        resolved[sub] = {**resolved[sub], **override} if isinstance(override, Mapping) else override
    return resolved
