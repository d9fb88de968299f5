"""The nuclide line libraries (resources/gamma/lines.csv of the simulator and activity fits,
resources/gamma/nuclide_library.csv of the peak-based identifier) and nuclide labels of spectrum file names."""

from __future__ import annotations

import os
import re

import numpy as np
import pandas as pd

COLUMNS = ["nuclide", "role", "energy_kev", "intensity", "kind", "half_life_days", "activity_line"]
# The peak-based identifier's library (resources/gamma/nuclide_library.csv, built by gamma.nuclear_data).
NUCLIDE_COLUMNS = [
    "nuclide",
    "member",
    "energy_kev",
    "energy_sd_kev",
    "intensity",
    "intensity_sd",
    "kind",
    "half_life_days",
    "natural",
    "series",
]


def read_lines(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the line library; a missing column or a non-positive energy, intensity or half-life is an error."""
    lines = pd.read_csv(path, comment="#")
    missing = sorted(set(COLUMNS) - set(lines.columns))
    if missing:
        raise ValueError(f"{path}: line library lacks the columns {missing}")
    for column in ("energy_kev", "intensity", "half_life_days"):
        bad = lines[~(lines[column] > 0)]
        if len(bad):
            raise ValueError(f"{path}: non-positive {column} in rows {bad.index.tolist()}")
    lines["activity_line"] = lines["activity_line"].astype(bool)
    return lines[COLUMNS]


def source_lines(lines: pd.DataFrame, nuclides: list[str]) -> pd.DataFrame:
    """The lines of ``nuclides``; every nuclide must be in the library."""
    unknown = sorted(set(nuclides) - set(lines["nuclide"]))
    if unknown:
        raise ValueError(f"nuclides {unknown} are not in the line library")
    return lines[lines["nuclide"].isin(nuclides)].reset_index(drop=True)


def decay_constant_per_day(lines: pd.DataFrame, nuclide: str) -> float:
    """ln 2 / half-life of ``nuclide`` in 1/day."""
    return float(np.log(2) / lines.loc[lines["nuclide"] == nuclide, "half_life_days"].iloc[0])


def decay_factors(lines: pd.DataFrame, nuclides: np.ndarray, start: object, end: object) -> np.ndarray:
    """exp(-λ t) of each of ``nuclides`` (half-lives from ``lines``) over the whole days from ``start`` to ``end``:
    dates, each one date or one per nuclide (an ``end`` before ``start`` gives factors above one)."""
    half_life = lines.drop_duplicates("nuclide").set_index("nuclide")["half_life_days"]
    count = len(nuclides)

    def dates(values: object) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(pd.to_datetime(list(values) if np.ndim(values) else [values] * count))

    days = (dates(end) - dates(start)).days.to_numpy()
    return np.exp(-np.log(2) / pd.Series(nuclides).map(half_life).to_numpy(dtype=float) * days)


def _pattern(nuclide: str) -> re.Pattern[str]:
    element, mass = nuclide.split("-")
    return re.compile(rf"(?<![a-z]){element}[-_]?{mass}(?!\d)", re.IGNORECASE)


def labels_from_name(name: str, nuclides: list[str]) -> np.ndarray:
    """0/1 label per nuclide from a file name naming them (``Cs-137``, ``cs137``, ``Cs_137`` all count)."""
    return np.array([bool(_pattern(n).search(name)) for n in nuclides], dtype=int)


def read_nuclide_library(path: str | os.PathLike[str], nuclides: list[str] | None = None) -> pd.DataFrame:
    """Read the library table, only the entries of ``nuclides`` if given (one it lacks is an error); a missing
    column or a non-positive energy or intensity is an error naming ``path``."""
    table = pd.read_csv(path, comment="#", keep_default_na=False, na_values={"series": []})
    missing = sorted(set(NUCLIDE_COLUMNS) - set(table.columns))
    if missing:
        raise ValueError(f"{path}: nuclide library lacks the columns {missing}")
    for column in ("energy_kev", "intensity"):
        bad = table.index[~(pd.to_numeric(table[column], errors="coerce") > 0)]
        if len(bad):
            raise ValueError(f"{path}: non-positive {column} in rows {bad.tolist()}")
    table["natural"] = table["natural"].astype(str).str.lower() == "true"
    if nuclides is not None:
        unknown = sorted(set(nuclides) - set(table["nuclide"]))
        if unknown:
            raise ValueError(f"{path}: nuclide library lacks {unknown}")
        table = table[table["nuclide"].isin(nuclides)].reset_index(drop=True)
    return table[NUCLIDE_COLUMNS]
