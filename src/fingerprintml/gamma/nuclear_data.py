"""The nuclide library of the peak-based identifier, built from evaluated nuclear data (not typed by hand).

Photon lines (gamma, X-ray and annihilation, with energy and intensity uncertainties) come from the decay_2012
library bundled with UKAEA's ``actigamma`` (FISPACT-II's decay data, JEFF-3.1.1 based, offline); decay chains,
branching fractions and half-lives from ``radioactivedecay`` (ICRP-107). ``curie`` and becquerel's NNDC tools
fetch their data over the network at first use, so they cannot build the library offline.

An entry's line intensity is photons per decay of its parent with its members in secular equilibrium: the member's
intensity times the product of the branching fractions from the parent to the member.

Run: ``python -m fingerprintml.gamma.nuclear_data SPEC.yaml OUT.csv`` (``resources/gamma/nuclide_library.yaml``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from fingerprintml.gamma.library import NUCLIDE_COLUMNS
from fingerprintml.io import write_table

ANNIHILATION_KEV = 510.999


def _decay_data() -> dict[str, Any]:
    import actigamma

    path = Path(actigamma.__file__).parent / "data" / "lines_decay_2012.min.json"
    return json.loads(path.read_text())


def _data_name(nuclide: str) -> str:
    """radioactivedecay's ``Pa-234m`` as decay_2012 names it: ``Pa234m``."""
    return nuclide.replace("-", "")


def members(nuclide: str, chain: list[str] | None, short_lived_days: float) -> dict[str, float]:
    """Members of an entry and their branching from ``nuclide``: the listed ``chain`` (None: ``nuclide`` and its
    progeny with a half-life under ``short_lived_days``, followed while they are that short)."""
    import radioactivedecay as rd

    found, queue = {nuclide: 1.0}, [nuclide]
    while queue:
        parent = queue.pop(0)
        data = rd.Nuclide(parent)
        for daughter, fraction in zip(data.progeny(), data.branching_fractions(), strict=True):
            if daughter == "SF" or daughter in found:
                continue
            inside = (
                (daughter in chain) if chain is not None else rd.Nuclide(daughter).half_life("d") < short_lived_days
            )
            if inside:
                found[daughter] = found[parent] * fraction
                queue.append(daughter)
    missing = sorted(set(chain or []) - set(found))
    if missing:
        raise ValueError(f"{nuclide}: chain members {missing} are not reached by its decays")
    return found


def daughter_series(nuclides: list[str], natural: set[str]) -> dict[str, str]:
    """'<parent> series' for each listed nuclide that is not natural and has a direct daughter listed too, and for
    that daughter (Hg-197m and its Hg-197, Lu-177m and Lu-177): a daughter reported beside its parent is grouped
    with it, as the natural series are."""
    import radioactivedecay as rd

    series = {}
    for parent in nuclides:
        if parent in natural:
            continue
        for daughter in rd.Nuclide(parent).progeny():
            if daughter in nuclides and daughter not in natural:
                series[parent] = series[daughter] = f"{parent} series"
    return series


def member_lines(member: str, data: Mapping[str, Any]) -> pd.DataFrame:
    """Photon lines of one nuclide from decay_2012: energy (keV), intensity (per decay) and their uncertainties."""
    entry = data.get(_data_name(member))
    if entry is None:
        raise ValueError(f"{member}: not in actigamma's decay_2012 data")
    tables = []
    for kind in ("gamma", "x-ray"):
        if kind not in entry:
            continue
        lines = entry[kind]["lines"]
        norms = np.asarray(lines["norms"], float)
        energy = np.asarray(lines["energies"], float) / 1e3
        table = pd.DataFrame(
            {
                "energy_kev": energy,
                "energy_sd_kev": np.asarray(lines["energies_unc"], float) / 1e3,
                "intensity": np.asarray(lines["intensities"], float) * norms,
                "intensity_sd": np.hypot(
                    np.asarray(lines["intensities_unc"], float) * norms,
                    np.asarray(lines["intensities"], float) * np.asarray(lines["norms_unc"], float),
                ),
                "kind": np.where(
                    np.isclose(energy, ANNIHILATION_KEV, atol=0.01), "annihilation", kind.replace("-", "")
                ),
            }
        )
        tables.append(table)
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()


def build_library(spec: Mapping[str, Any]) -> pd.DataFrame:
    """The library table (``library.NUCLIDE_COLUMNS``) of the entries of ``spec`` (nuclide_library.yaml)."""
    import radioactivedecay as rd

    data = _decay_data()
    chains, natural, series = spec.get("chains", {}), set(spec.get("natural", [])), spec.get("series", {})
    tables = []
    for nuclide in spec["nuclides"]:
        branching = members(nuclide, chains.get(nuclide), float(spec["short_lived_daughter_days"]))
        for member, fraction in branching.items():
            lines = member_lines(member, data)
            if lines.empty:
                continue
            lines[["intensity", "intensity_sd"]] *= fraction
            tables.append(lines.assign(nuclide=nuclide, member=member))
    table = pd.concat(tables, ignore_index=True)
    keep = (table["intensity"] >= spec["min_intensity"]) & (table["energy_kev"] >= spec["min_energy_kev"])
    table = table[keep].copy()
    lineless = sorted(set(spec["nuclides"]) - set(table["nuclide"]))
    if lineless:
        raise ValueError(
            f"{lineless}: no photon line of at least {spec['min_intensity']} per decay and {spec['min_energy_kev']} keV"
        )
    table["half_life_days"] = [rd.Nuclide(n).half_life("d") for n in table["nuclide"]]
    table["natural"] = table["nuclide"].isin(natural)
    table["series"] = table["nuclide"].map({**daughter_series(spec["nuclides"], natural), **series}).fillna("")
    table = table.round({"energy_kev": 4, "energy_sd_kev": 4, "intensity": 6, "intensity_sd": 6})
    return table.sort_values(["nuclide", "energy_kev"]).reset_index(drop=True)[NUCLIDE_COLUMNS]


def main(spec_path: str, out_path: str) -> None:
    """Build the library of ``spec_path`` and write it to ``out_path``."""
    spec = yaml.safe_load(Path(spec_path).read_text())
    write_table(build_library(spec), out_path, float_format="%.8g")


if __name__ == "__main__":
    main(*sys.argv[1:])
