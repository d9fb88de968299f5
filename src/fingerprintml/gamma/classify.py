"""From preprocessed spectra to the per-spectrum answer: source present, nuclide probabilities, nuclides, activities."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from fingerprintml.gamma.activity import LINE_COLUMNS, LineFitter, combine, decay_correct
from fingerprintml.gamma.preprocess import Binned, PreprocessSettings, label_table, measurement_dates, rebin
from fingerprintml.gamma.spectrum import SUFFIXES, read_spectra, spectrum_files

SPLIT_FOLDERS = {"train": ("srcs", "bkgs"), "test": ("test",), "validation": ("validation",)}


def read_split(
    data_dir: str | os.PathLike[str], split: str, nuclides: list[str], settings: PreprocessSettings
) -> tuple[Binned, pd.DataFrame, pd.DataFrame]:
    """Read the spectra of ``split`` (train: ``srcs/`` and ``bkgs/``; test: ``test/``; validation: ``validation/``;
    query: ``data_dir`` itself)
    and rebin them. Returns the rebinned spectra, their labels (from file names; ``bkgs/`` are background) and
    the rejects table."""
    folders = [Path(data_dir) / f for f in SPLIT_FOLDERS[split]] if split in SPLIT_FOLDERS else [Path(data_dir)]
    spectra, rejects, dates, background = [], [], {}, []
    for folder in folders:
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: the spectra folder is missing (layout: srcs/, bkgs/, test/)")
        read, rejected = read_spectra(
            spectrum_files(folder),
            settings.calibration_policy,
            settings.default_calibration,
            settings.default_distance_cm,
        )
        spectra += read
        rejects.append(rejected)
        dates |= measurement_dates(folder)
        background += [folder.name == "bkgs"] * len(read)
    if not spectra:
        problems = pd.concat(rejects, ignore_index=True)["problem"]
        found = "every file is unusable:\n  " + "\n  ".join(problems) if len(problems) else "no spectrum file"
        raise ValueError(f"no readable spectra in {', '.join(map(str, folders))} ({', '.join(SUFFIXES)}): {found}")
    binned = rebin(spectra, settings.cap_kev, dates)
    notes = pd.DataFrame(
        [{"file": s.name, "problem": "; ".join(s.notes)} for s in spectra if s.notes], columns=["file", "problem"]
    )
    rejects_table = pd.concat([*rejects, notes.assign(action="used")], ignore_index=True)
    rejects_table["action"] = rejects_table["action"].fillna("skipped")
    return binned, label_table(binned, nuclides, np.array(background)), rejects_table


def activity_tables(
    binned: Binned,
    identified: list[list[str]],
    fitters: list[LineFitter | None],
    background_rate: np.ndarray,
    lines: pd.DataFrame,
    *,
    reference_date: str,
    default_date: str | None,
) -> pd.DataFrame:
    """Per-line fits (net area, activity at the reference date, with each spectrum's fitter: its detector's
    response) of the identified nuclides of every spectrum with a source distance (NaN: the reader found none
    usable and noted it in the rejects table); spectra without a
    measurement date take ``default_date`` (or the reference date: no decay correction)."""
    tables, dates = [], []
    for i, nuclides in enumerate(identified):
        if nuclides and np.isfinite(binned.distance_cm[i]):
            table = fitters[i].fit(
                binned.counts[i], binned.live_time[i], binned.distance_cm[i], background_rate, nuclides
            )
            tables.append(table.assign(file=binned.files[i]))
            dates += [str(binned.dates[i]) or default_date or reference_date] * len(table)
    columns = ["file", *LINE_COLUMNS]
    if not tables:
        return pd.DataFrame(columns=columns)
    table = pd.concat(tables, ignore_index=True)[columns]
    return decay_correct(table, lines, pd.Series(dates), reference_date)


def identify(
    source_probability: np.ndarray, nuclide_probability: np.ndarray, nuclides: list[str], threshold: float
) -> list[list[str]]:
    """The nuclides at or above ``threshold`` in each spectrum the binary model says holds a source."""
    return [
        [n for n, p in zip(nuclides, probs, strict=True) if p >= threshold] if source >= 0.5 else []
        for source, probs in zip(source_probability, nuclide_probability, strict=True)
    ]


def predictions_table(
    files: np.ndarray,
    source_probability: np.ndarray,
    nuclide_probability: np.ndarray,
    nuclides: list[str],
    identified: list[list[str]],
    line_table: pd.DataFrame,
) -> pd.DataFrame:
    """The per-spectrum table: has_source and its probability (binary model), probability per nuclide
    (multilabel model), the identified nuclides, and the activity (Bq at the reference date) with its standard
    uncertainty per identified nuclide (empty where not identified)."""
    table = pd.DataFrame(
        {"file": files, "has_source": (source_probability >= 0.5).astype(int), "p_source": source_probability}
    )
    for k, nuclide in enumerate(nuclides):
        table[f"p_{nuclide}"] = nuclide_probability[:, k]
    table["nuclides"] = ["+".join(found) for found in identified]
    combined = combine(line_table).set_index(["file", "nuclide"])
    for nuclide in nuclides:
        index = pd.MultiIndex.from_arrays([files, [nuclide] * len(files)])
        for column in ("activity_bq", "activity_sd_bq"):
            table[f"{column}_{nuclide}"] = combined[column].reindex(index).to_numpy()
    return table
