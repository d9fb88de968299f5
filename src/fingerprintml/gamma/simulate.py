"""Physics-based simulated spectra (the demo dataset): sources of the line library seen by the configured detector
over a measured-like background, Poisson counting, written as ``.sps`` files in the paper's layout (``srcs/``,
``bkgs/``, ``test/``)."""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fingerprintml.gamma.detector import efficiency, geometry_factor, line_responses
from fingerprintml.gamma.library import decay_constant_per_day, source_lines
from fingerprintml.gamma.spectrum import Spectrum, write_sps
from fingerprintml.io import write_table
from fingerprintml.seeds import rng_for

SPLIT_FOLDERS = {"train": "srcs", "background": "bkgs", "test": "test"}


@dataclass
class SpectrumModel:
    """Everything that does not change between simulated spectra: lines, their responses, the continuum."""

    lines: pd.DataFrame
    responses: np.ndarray
    full_energy_efficiency: np.ndarray
    continuum_rate: np.ndarray
    calibration: tuple[float, float]
    reference_distance_cm: float


def build_model(
    lines: pd.DataFrame, nuclides: list[str], detector: dict[str, Any], simulator: dict[str, Any]
) -> SpectrumModel:
    """Responses of every source and background line for the configured channels and calibration."""
    background = simulator["background"]
    used = source_lines(lines, [*nuclides, *background["activity_bq"]])
    c0, c1 = simulator["calibration"]
    edges = c0 * np.arange(simulator["channels"] + 1) + c1
    responses = line_responses(used["energy_kev"].to_numpy(), used["kind"].tolist(), edges, detector)
    centres = np.maximum(0.5 * (edges[1:] + edges[:-1]), 0.0)  # channels below 0 keV (negative offset) see nothing
    continuum = background["continuum"]
    density = sum(c["amplitude"] * np.exp(-centres / c["scale_kev"]) for c in continuum["components"])
    threshold = 1.0 - np.exp(-((centres / continuum["threshold_kev"]) ** 3))
    return SpectrumModel(
        lines=used,
        responses=responses,
        full_energy_efficiency=efficiency(used["energy_kev"].to_numpy(), detector["efficiency"]),
        continuum_rate=density * threshold * np.diff(edges),
        calibration=(float(c0), float(c1)),
        reference_distance_cm=float(detector["efficiency"]["reference_distance_cm"]),
    )


def expected_counts(
    model: SpectrumModel,
    activities_bq: dict[str, float],
    distance_cm: float,
    live_time_s: float,
    background_scale: dict[str, float],
) -> np.ndarray:
    """Expected counts per channel: sources at ``distance_cm`` plus the background (scaled per component)."""
    nuclide = model.lines["nuclide"].to_numpy()
    is_source = (model.lines["role"] == "source").to_numpy()
    activity = np.array([activities_bq.get(n, 0.0) for n in nuclide]) * is_source
    activity = activity * geometry_factor(distance_cm, model.reference_distance_cm)
    activity += np.array([background_scale.get(n, 0.0) for n in nuclide]) * ~is_source
    peak_rate = activity * model.lines["intensity"].to_numpy() * model.full_energy_efficiency
    rate = peak_rate @ model.responses + background_scale["continuum"] * model.continuum_rate
    return live_time_s * rate


def combinations(nuclides: list[str], max_mixture: int) -> list[tuple[str, ...]]:
    """Every combination of 1 .. ``max_mixture`` nuclides."""
    return [c for k in range(1, max_mixture + 1) for c in itertools.combinations(nuclides, k)]


def plan(nuclides: list[str], simulator: dict[str, Any], split: str) -> pd.DataFrame:
    """The spectra of ``split``: balanced over nuclide combinations, distances and live times (repeats of the full
    grid), then background-only spectra balanced over live times."""
    rows = []
    grid = list(itertools.product(simulator["distances_cm"], simulator["live_times_s"]))
    for combo in combinations(nuclides, simulator["max_mixture"]):
        for _ in range(simulator["repeats"][split]):
            rows += [{"nuclides": "+".join(combo), "distance_cm": d, "live_time_s": t} for d, t in grid]
    n_background = simulator["background_spectra"][split]
    times = simulator["live_times_s"]
    rows += [
        {
            "nuclides": "",
            "distance_cm": simulator["distances_cm"][i % len(simulator["distances_cm"])],
            "live_time_s": times[i % len(times)],
        }
        for i in range(n_background)
    ]
    return pd.DataFrame(rows)


def simulate_split(
    model: SpectrumModel,
    lines: pd.DataFrame,
    simulator: dict[str, Any],
    split: str,
    *,
    nuclides: list[str],
    out_dir: str | os.PathLike[str],
    seed: int,
) -> pd.DataFrame:
    """Simulate and write the spectra of ``split`` ('train' or 'test'); return their truth table.

    Train sources go to ``srcs/`` and train backgrounds to ``bkgs/``; test spectra of both kinds to ``test/``.
    Activities (Bq at the reference date) are log-uniform; the measurement date is the reference date plus a
    uniform number of days, and the source has decayed accordingly.
    """
    rng = rng_for(seed, "gamma-demo", split)
    out_dir = Path(out_dir)
    reference = date.fromisoformat(str(simulator["reference_date"]))
    low, high = simulator["activity_kbq"]["low"] * 1e3, simulator["activity_kbq"]["high"] * 1e3
    variation = simulator["background"]["variation"]
    truth = []
    for index, row in enumerate(plan(nuclides, simulator, split).itertuples(index=False)):
        present = row.nuclides.split("+") if row.nuclides else []
        reference_activity = {n: float(np.exp(rng.uniform(np.log(low), np.log(high)))) for n in present}
        days = float(rng.uniform(simulator["measurement_days"]["low"], simulator["measurement_days"]["high"]))
        activity = {n: a * np.exp(-decay_constant_per_day(lines, n) * days) for n, a in reference_activity.items()}
        scale = {n: a * rng.lognormal(0.0, variation) for n, a in simulator["background"]["activity_bq"].items()}
        scale["continuum"] = rng.lognormal(0.0, variation)
        mean = expected_counts(model, activity, row.distance_cm, row.live_time_s, scale)
        counts = rng.poisson(mean)
        folder = SPLIT_FOLDERS["test" if split == "test" else ("train" if present else "background")]
        prefix = "src" if folder == "srcs" else ("bkg" if folder == "bkgs" else "test")
        name = f"{prefix}_{index:05d}_{row.nuclides or 'background'}.sps"
        real_time = row.live_time_s * (1 + simulator["dead_time_fraction"])
        write_sps(
            Spectrum(counts, row.live_time_s, real_time, row.distance_cm, model.calibration, name),
            out_dir / folder / name,
        )
        truth.append(
            {
                "file": f"{folder}/{name}",
                "split": split,
                "distance_cm": row.distance_cm,
                "live_time_s": row.live_time_s,
                "measurement_date": (reference + timedelta(days=days)).isoformat(),
                **{f"activity_bq_{n}": reference_activity.get(n, 0.0) for n in nuclides},
            }
        )
    return pd.DataFrame(truth)


def simulate_dataset(
    lines: pd.DataFrame,
    nuclides: list[str],
    detector: dict[str, Any],
    simulator: dict[str, Any],
    out_dir: str | os.PathLike[str],
    seed: int,
) -> pd.DataFrame:
    """Write the simulated dataset (``srcs/``, ``bkgs/``, ``test/`` and ``measurement_dates.csv`` in each) under
    ``out_dir`` and return the truth table of every spectrum."""
    model = build_model(lines, nuclides, detector, simulator)
    truth = pd.concat(
        [
            simulate_split(model, lines, simulator, s, nuclides=nuclides, out_dir=out_dir, seed=seed)
            for s in ("train", "test")
        ]
    )
    folders = truth["file"].str.split("/").str[0]
    for folder, part in truth.groupby(folders):
        dates = pd.DataFrame({"file": part["file"].str.split("/").str[1], "measurement_date": part["measurement_date"]})
        write_table(dates, Path(out_dir) / folder / "measurement_dates.csv")
    return truth.reset_index(drop=True)
