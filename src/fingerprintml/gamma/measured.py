"""Named datasets of measured spectra (``gamma.datasets.<name>.measured``: ``opengamma``, ``baldr``): the truth of
each spectrum, from its file name or the source description it carries, and the benchmark of the peak-based
identification (:func:`~fingerprintml.gamma.identify.identify_spectra`) against it, with the targets of issue #19."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from fingerprintml.gamma.identify import IdentifySettings
from fingerprintml.gamma.quantify import identify_with_activities
from fingerprintml.gamma.spectrum import Spectrum

# Where a spectrum's truth comes from: its file name (Am-241.html) or the source description a SampleSet row
# carries (measurements.h5[16] Cs137 @ 111.8cm).
TRUTH_SOURCES = ("file_name", "source_description")
BACKGROUND = "background"
# Natural samples: the series their lines belong to.
NATURAL_SAMPLES = {
    "Pitchblende": ("U-238 series",),
    "RadiumDial": ("U-238 series",),
    "Uranium-glaze": ("U-238 series",),
    "Zeunerite": ("U-238 series",),
    "Fiestaware": ("U-238 series",),
    "CeramicPipe1820": ("U-238 series", "Th-232 series"),
    "ThoriumSource": ("Th-232 series",),
}
# File stems that name two nuclides (a parent and its daughter in equilibrium): the parent.
ALIASES = {"Ge-68_Ga-68": "Ge-68"}
NUCLIDE = re.compile(r"^([A-Z][a-z]?)-?(\d+m?)$")
BENCHMARK_COLUMNS = [
    "file",
    "truth",
    "natural_sample",
    "reported",
    "background",
    "labelled_found",
    "others",
    "n_others",
    "unexplained_peaks",
]
SUMMARY_COLUMNS = ["target", "spectra", "passed", "share", "goal", "reached"]


def spectrum_truth(name: str, source: str) -> str:
    """The labelled nuclide (``Cs-137``), natural sample (``Pitchblende``) or ``background`` of the spectrum named
    ``name``, read from its file name or its source description (``source``, one of ``TRUTH_SOURCES``); a name
    that gives none is an error naming it.

    Parameters
    ----------
    name
        The spectrum's name (``Spectrum.name``: the file name, ``<file>[<row>] <seed>`` for a SampleSet row).
    source
        ``file_name`` or ``source_description``.
    """
    if source == "file_name":
        stem = Path(name.split("[")[0]).stem
    elif source == "source_description":
        if "] " not in name:
            raise ValueError(f"{name}: no source description (a SampleSet row is named '<file>[<row>] <source>')")
        stem = name.split("] ", 1)[1].split(" @")[0]
    else:
        raise ValueError(f"truth source {source!r}: must be one of {', '.join(TRUTH_SOURCES)}")
    stem = ALIASES.get(stem, stem)
    if stem.lower() == BACKGROUND:
        return BACKGROUND
    if stem in NATURAL_SAMPLES:
        return stem
    match = NUCLIDE.match(stem)
    if match is None:
        raise ValueError(
            f"{name}: its {source.replace('_', ' ')} {stem!r} names no nuclide (Cs-137, Cs137), natural sample "
            f"({', '.join(NATURAL_SAMPLES)}) or background"
        )
    return f"{match[1]}-{match[2]}"


def benchmark_table(identification: pd.DataFrame, library: pd.DataFrame, truths: Mapping[str, str]) -> pd.DataFrame:
    """Per spectrum of ``identification`` (:func:`identify_spectra`'s summary): its truth, the reported sources
    and the natural nuclides attributed to the background, whether the labelled one was found (a natural sample:
    one of its series reported as a source; a background: no source), the others reported that are neither natural
    (K-40, U/Th series) nor of the label's series, and the unexplained peaks.

    Parameters
    ----------
    identification
        The per-spectrum table of :func:`identify_spectra` (``file``, ``peak_nuclides``, ``peak_background``,
        ``unexplained_peaks``).
    library
        The nuclide library (``nuclide``, ``series``, ``natural``).
    truths
        Each spectrum's truth (:func:`spectrum_truth`) by file.
    """
    nuclides = library.drop_duplicates("nuclide").set_index("nuclide")
    rows = []
    for row in identification.itertuples():
        truth = truths[row.file]
        reported = [n for n in row.peak_nuclides.split("+") if n]
        natural = truth in NATURAL_SAMPLES
        series = set(NATURAL_SAMPLES.get(truth, ()))
        if truth in nuclides.index and nuclides.at[truth, "series"]:
            series.add(nuclides.at[truth, "series"])
        others = [
            n
            for n in reported
            if n != truth and not nuclides.at[n, "natural"] and nuclides.at[n, "series"] not in series
        ]
        if truth == BACKGROUND:
            found = not reported
        elif natural:
            found = bool(series & {nuclides.at[n, "series"] for n in reported})
        else:
            found = truth in reported
        rows.append(
            {
                "file": row.file,
                "truth": truth,
                "natural_sample": natural,
                "reported": row.peak_nuclides,
                "background": row.peak_background,
                "labelled_found": found,
                "others": "+".join(others),
                "n_others": len(others),
                "unexplained_peaks": row.unexplained_peaks,
            }
        )
    return pd.DataFrame(rows, columns=BENCHMARK_COLUMNS)


def benchmark_summary(table: pd.DataFrame, targets: Mapping[str, float]) -> pd.DataFrame:
    """The issue's targets measured on a :func:`benchmark_table`: the labelled nuclide reported and at most one
    other (single-nuclide spectra), natural samples in their series, backgrounds with no source; each with the
    count of spectra, those passing, their share, the ``targets`` goal (share; none: not a target of the dataset)
    and whether it is reached. Groups without spectra are left out.

    Parameters
    ----------
    table
        A :func:`benchmark_table`.
    targets
        Goals by target name (``labelled``, ``at_most_one_other``, ``natural``, ``background``).
    """
    background = table["truth"] == BACKGROUND
    single = table[~table["natural_sample"] & ~background]
    measures = {
        "labelled": single["labelled_found"],
        "at_most_one_other": single["n_others"] <= 1,
        "natural": table.loc[table["natural_sample"], "labelled_found"],
        "background": table.loc[background, "labelled_found"],
    }
    rows = []
    for target, passed in measures.items():
        if not len(passed):
            continue
        share = float(passed.mean())
        goal = targets.get(target)
        rows.append(
            {
                "target": target,
                "spectra": len(passed),
                "passed": int(passed.sum()),
                "share": share,
                "goal": goal,
                "reached": "" if goal is None else share >= goal,
            }
        )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def benchmark_measured(
    spectra: list[Spectrum],
    library: pd.DataFrame,
    settings: IdentifySettings,
    measured: Mapping[str, Any],
) -> dict[str, pd.DataFrame]:
    """Identify a measured dataset's ``spectra`` (:func:`identify_with_activities`, as for ``gamma.query_dir``,
    activities with the efficiency of the dataset's detector preset) and benchmark the result against each
    spectrum's truth.

    Parameters
    ----------
    spectra
        The dataset's spectra.
    library
        The nuclide library.
    settings
        The identification settings (``gamma.identify``).
    measured
        The dataset's ``measured`` block: ``detector`` (a preset, a block or auto), ``truth`` (one of
        ``TRUTH_SOURCES``), ``targets`` (goals by target name).

    Returns
    -------
    The tables ``identification``, ``peaks``, ``limits``, ``activities`` (of :func:`identify_with_activities`),
    ``benchmark``
    (:func:`benchmark_table`) and ``summary`` (:func:`benchmark_summary`).
    """
    truths = {s.name: spectrum_truth(s.name, measured["truth"]) for s in spectra}  # bad names fail before the fits
    tables = identify_with_activities(spectra, library, settings, measured["detector"])
    table = benchmark_table(tables["identification"], library, truths)
    return {
        **tables,
        "benchmark": table,
        "summary": benchmark_summary(table, measured.get("targets", {})),
    }
