"""Physics-based simulated spectra (the demo dataset): sources of the line library seen by the configured detector
(escape peaks included) over a measured-like background, true-coincidence summing of cascades where the simulator
asks for it, Poisson counting, written as ``.sps`` files in the paper's layout (``srcs/``, ``bkgs/``, ``test/``)."""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtr

from fingerprintml.gamma.detector import continuum_response, efficiency, geometry_factor, line_responses, sigma_kev
from fingerprintml.gamma.library import decay_constant_per_day, source_lines
from fingerprintml.gamma.spectrum import Spectrum, write_sps
from fingerprintml.io import write_table
from fingerprintml.seeds import rng_for

# Splits drawn like the test spectra, weak sources included.
HELD_OUT = ("test", "validation")
SPLIT_FOLDERS = {"train": "srcs", "background": "bkgs", "test": "test", "validation": "validation"}
CASCADE_COLUMNS = ["nuclide", "energy_1_kev", "energy_2_kev", "probability"]


def read_cascades(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the cascade table (nuclide, energy_1_kev, energy_2_kev, probability: photon pairs per decay); a
    missing column or a non-positive value is an error naming the file."""
    cascades = pd.read_csv(path, comment="#")
    missing = sorted(set(CASCADE_COLUMNS) - set(cascades.columns))
    if missing:
        raise ValueError(f"{path}: cascade table lacks the columns {missing}")
    bad = cascades[~(cascades[CASCADE_COLUMNS[1:]] > 0).all(axis=1)]
    if len(bad):
        raise ValueError(f"{path}: non-positive energy or probability in rows {bad.index.tolist()}")
    return cascades[CASCADE_COLUMNS]


@dataclass
class Summing:
    """True-coincidence summing of the cascades among the model's lines: for pair k of lines (first[k], second[k])
    emitted together ``probability[k]`` times per decay, the sum peak (both full energy) and the partial sums (one
    full energy, the other scattered) per unit of activity x probability x both full-energy efficiencies."""

    first: np.ndarray
    second: np.ndarray
    probability: np.ndarray
    responses: np.ndarray


@dataclass
class SpectrumModel:
    """Everything that does not change between simulated spectra: lines, their responses, the continuum, the
    summing of cascades (None: no summing)."""

    lines: pd.DataFrame
    responses: np.ndarray
    full_energy_efficiency: np.ndarray
    continuum_rate: np.ndarray
    calibration: tuple[float, float]
    efficiency_params: Mapping[str, float]
    summing: Summing | None = None


def summing_model(
    used: pd.DataFrame, cascades: pd.DataFrame, edges: np.ndarray, detector: Mapping[str, Any]
) -> Summing:
    """The :class:`Summing` of the ``cascades`` whose two lines are among the source lines ``used`` (matched by
    nuclide and energy within 0.1 keV) on channels of ``edges``."""
    first, second, probability, responses = [], [], [], []
    sources = used[used["role"] == "source"]
    for row in cascades.itertuples(index=False):
        of_nuclide = sources[sources["nuclide"] == row.nuclide]
        energies = (row.energy_1_kev, row.energy_2_kev)
        found = [of_nuclide.index[(of_nuclide["energy_kev"] - e).abs() < 0.1] for e in energies]
        if not all(len(f) for f in found):
            continue
        i, j = found[0][0], found[1][0]
        e_i, e_j = used.at[i, "energy_kev"], used.at[j, "energy_kev"]
        total = e_i + e_j
        peak = np.diff(ndtr((edges - total) / float(sigma_kev(total, detector["resolution"]))))
        partial = continuum_response(e_j, used.at[j, "kind"], edges - e_i, detector) + continuum_response(
            e_i, used.at[i, "kind"], edges - e_j, detector
        )
        first.append(i)
        second.append(j)
        probability.append(row.probability)
        responses.append(peak + partial)
    n_channels = len(edges) - 1
    return Summing(
        np.array(first, dtype=int),
        np.array(second, dtype=int),
        np.array(probability, dtype=float),
        np.array(responses).reshape(len(first), n_channels),
    )


def build_model(
    lines: pd.DataFrame,
    nuclides: list[str],
    detector: Mapping[str, Any],
    simulator: Mapping[str, Any],
    cascades: pd.DataFrame | None = None,
) -> SpectrumModel:
    """Responses of every source and background line for the configured channels and calibration, and the summing
    of the ``cascades`` among them where ``simulator.coincidence_summing`` is set (then they must be given)."""
    background = simulator["background"]
    used = source_lines(lines, [*nuclides, *background["activity_bq"]])
    c0, c1 = simulator["calibration"]
    edges = c0 * np.arange(simulator["channels"] + 1) + c1
    responses = line_responses(used["energy_kev"].to_numpy(), used["kind"].tolist(), edges, detector)
    summing = None
    if simulator.get("coincidence_summing", False):
        if cascades is None:
            raise ValueError("coincidence_summing is set but no cascade table (gamma.cascades) was given")
        summing = summing_model(used, cascades, edges, detector)
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
        efficiency_params=dict(detector["efficiency"]),
        summing=summing,
    )


def expected_counts(
    model: SpectrumModel,
    activities_bq: dict[str, float],
    distance_cm: float,
    live_time_s: float,
    background_scale: dict[str, float],
) -> np.ndarray:
    """Expected counts per channel: sources at ``distance_cm`` plus the background (scaled per component).

    With summing, a line's events in which its cascade partner is also detected (total efficiency: full energy
    times the whole response per full-energy count) leave its response and reappear as the sum peak and the
    partial sums; sums of two scattered photons stay in the continua."""
    nuclide = model.lines["nuclide"].to_numpy()
    is_source = (model.lines["role"] == "source").to_numpy()
    geometry = geometry_factor(distance_cm, model.efficiency_params)
    source_activity = np.array([activities_bq.get(n, 0.0) for n in nuclide]) * is_source
    activity = source_activity * geometry + np.array([background_scale.get(n, 0.0) for n in nuclide]) * ~is_source
    peak_rate = activity * model.lines["intensity"].to_numpy() * model.full_energy_efficiency
    summed = np.zeros(model.responses.shape[1])
    if model.summing is not None and len(model.summing.probability):
        s = model.summing
        full_energy = model.full_energy_efficiency * geometry
        total = full_energy * model.responses.sum(axis=1)
        pair_rate = source_activity[s.first] * s.probability * full_energy[s.first] * full_energy[s.second]
        kept = np.ones(len(peak_rate))
        intensity = model.lines["intensity"].to_numpy()
        np.subtract.at(kept, s.first, s.probability / intensity[s.first] * total[s.second])
        np.subtract.at(kept, s.second, s.probability / intensity[s.second] * total[s.first])
        peak_rate = peak_rate * np.clip(kept, 0.0, None)
        summed = pair_rate @ s.responses
    rate = peak_rate @ model.responses + summed + background_scale["continuum"] * model.continuum_rate
    return live_time_s * rate


def combinations(nuclides: list[str], max_mixture: int) -> list[tuple[str, ...]]:
    """Every combination of 1 .. ``max_mixture`` nuclides."""
    return [c for k in range(1, max_mixture + 1) for c in itertools.combinations(nuclides, k)]


def plan(nuclides: list[str], simulator: Mapping[str, Any], split: str) -> pd.DataFrame:
    """The spectra of ``split``: balanced over nuclide combinations, distances and live times (repeats of the full
    grid; validation is simulated where ``repeats`` names it), for the test and validation splits
    also ``weak_sources.repeats`` grids of weak sources (``weak`` True), then background-only spectra balanced over
    live times."""
    rows = []
    grid = list(itertools.product(simulator["distances_cm"], simulator["live_times_s"]))
    repeats = simulator["repeats"].get(split, 0)
    weak_repeats = simulator.get("weak_sources", {}).get("repeats", 0) if split in HELD_OUT else 0
    for combo in combinations(nuclides, simulator["max_mixture"]):
        for weak in [False] * repeats + [True] * weak_repeats:
            rows += [{"nuclides": "+".join(combo), "distance_cm": d, "live_time_s": t, "weak": weak} for d, t in grid]
    n_background = simulator["background_spectra"].get(split, 0)
    times = simulator["live_times_s"]
    rows += [
        {
            "nuclides": "",
            "distance_cm": simulator["distances_cm"][i % len(simulator["distances_cm"])],
            "live_time_s": times[i % len(times)],
            "weak": False,
        }
        for i in range(n_background)
    ]
    return pd.DataFrame(rows)


def simulate_split(
    model: SpectrumModel,
    lines: pd.DataFrame,
    simulator: Mapping[str, Any],
    split: str,
    *,
    nuclides: list[str],
    out_dir: str | os.PathLike[str],
    seed: int,
) -> pd.DataFrame:
    """Simulate and write the spectra of ``split`` ('train', 'test' or 'validation'); return their truth table.

    Train sources go to ``srcs/`` and train backgrounds to ``bkgs/``; test and validation spectra of both kinds to
    ``test/`` and ``validation/`` (the validation spectra, drawn like the test ones, fit the combination of the
    models with the peak-based identification).
    Activities (Bq at the reference date) are log-uniform in ``activity_kbq`` (``weak_sources.activity_kbq`` for
    the weak test sources); the measurement date is the reference date plus a uniform number of days, and the
    source has decayed accordingly. The truth holds the expected counts of the sources (``source_counts``) and of
    the background (``background_counts``) in each spectrum.
    """
    rng = rng_for(seed, "gamma-demo", split)
    out_dir = Path(out_dir)
    reference = date.fromisoformat(str(simulator["reference_date"]))
    ranges = {
        weak: np.log([block["activity_kbq"]["low"] * 1e3, block["activity_kbq"]["high"] * 1e3])
        for weak, block in ((False, simulator), (True, simulator.get("weak_sources")))
        if block
    }
    variation = simulator["background"]["variation"]
    truth = []
    for index, row in enumerate(plan(nuclides, simulator, split).itertuples(index=False)):
        present = row.nuclides.split("+") if row.nuclides else []
        reference_activity = {n: float(np.exp(rng.uniform(*ranges[row.weak]))) for n in present}
        days = float(rng.uniform(simulator["measurement_days"]["low"], simulator["measurement_days"]["high"]))
        activity = {n: a * np.exp(-decay_constant_per_day(lines, n) * days) for n, a in reference_activity.items()}
        scale = {n: a * rng.lognormal(0.0, variation) for n, a in simulator["background"]["activity_bq"].items()}
        scale["continuum"] = rng.lognormal(0.0, variation)
        mean = expected_counts(model, activity, row.distance_cm, row.live_time_s, scale)
        background_mean = expected_counts(model, {}, row.distance_cm, row.live_time_s, scale)
        counts = rng.poisson(mean)
        folder = SPLIT_FOLDERS[split if split in HELD_OUT else ("train" if present else "background")]
        prefix = {"srcs": "src", "bkgs": "bkg"}.get(folder, split)
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
                "weak": row.weak,
                "source_counts": float(mean.sum() - background_mean.sum()),
                "background_counts": float(background_mean.sum()),
                **{f"activity_bq_{n}": reference_activity.get(n, 0.0) for n in nuclides},
            }
        )
    return pd.DataFrame(truth)


def simulate_dataset(
    lines: pd.DataFrame,
    nuclides: list[str],
    detector: Mapping[str, Any],
    simulator: Mapping[str, Any],
    out_dir: str | os.PathLike[str],
    seed: int,
    cascades: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Write the simulated dataset (``srcs/``, ``bkgs/``, ``test/`` and ``measurement_dates.csv`` in each) under
    ``out_dir`` and return the truth table of every spectrum; ``cascades`` are summed where the simulator sets
    ``coincidence_summing``."""
    model = build_model(lines, nuclides, detector, simulator, cascades)
    truth = pd.concat(
        [
            simulate_split(model, lines, simulator, s, nuclides=nuclides, out_dir=out_dir, seed=seed)
            for s in ("train", *HELD_OUT)
            if s != "validation" or "validation" in simulator["repeats"]
        ]
    )
    folders = truth["file"].str.split("/").str[0]
    for folder, part in truth.groupby(folders):
        dates = pd.DataFrame({"file": part["file"].str.split("/").str[1], "measurement_date": part["measurement_date"]})
        write_table(dates, Path(out_dir) / folder / "measurement_dates.csv")
    return truth.reset_index(drop=True)
