"""The demo isotope data set: the NanoTracer hierarchy and class balance, drawn from documented class distributions.

Each row of ``resources/isotopes/demo_classes.csv`` gives a class (a leaf of the hierarchy), how many
samples to draw and the mean and standard deviation of delta18O and delta56Fe (per mil). Values are drawn
from independent normal distributions, rounded to the 0.01 per mil the instruments report.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from fingerprintml.io import read_table_with
from fingerprintml.isotopes.data import FEATURES, LEVELS
from fingerprintml.seeds import rng_for

CLASS_COLUMNS = ["set", "source", "species", "route", "n", "d18O_mean", "d18O_sd", "d56Fe_mean", "d56Fe_sd"]


def read_class_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and check the demo class table."""
    table = read_table_with(path, CLASS_COLUMNS)
    if (table[["d18O_sd", "d56Fe_sd"]].to_numpy(dtype=float) <= 0).any():
        raise ValueError(f"{path}: standard deviations must be positive")
    return table


def draw_set(classes: pd.DataFrame, which: str, seed: int, scale_n: float = 1.0) -> pd.DataFrame:
    """Draw the ``which`` set ('train' or 'external'); ``scale_n`` scales every class count."""
    rows = []
    for _, cls in classes[classes["set"] == which].iterrows():
        n = max(1, round(int(cls["n"]) * scale_n))
        rng = rng_for(seed, "isotopes-demo", which, cls["source"], cls["species"], cls["route"])
        d18o = rng.normal(cls["d18O_mean"], cls["d18O_sd"], n)
        d56fe = rng.normal(cls["d56Fe_mean"], cls["d56Fe_sd"], n)
        for a, b in zip(np.round(d18o, 2), np.round(d56fe, 2), strict=True):
            rows.append(
                {"d18O": a, "d56Fe": b, "source": cls["source"], "species": cls["species"], "route": cls["route"]}
            )
    df = pd.DataFrame(rows, columns=[*FEATURES, *LEVELS])
    prefix = "train" if which == "train" else "ext"
    df.insert(0, "sample", [f"{prefix}{i + 1:03d}" for i in range(len(df))])
    return df


def demo_dataset(classes: pd.DataFrame, seed: int, scale_n: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo training table and external test table (its first half marked as the ``Troll`` subset)."""
    train = draw_set(classes, "train", seed, scale_n)
    external = draw_set(classes, "external", seed, scale_n)
    external["subset"] = np.where(np.arange(len(external)) < len(external) // 2, "Troll", "other")
    return train, external
