"""Identification of measured patterns: preprocessing, network ranking, and phases by a whole-pattern fit of the
network's candidates."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from fingerprintml.plotting import save_figure
from fingerprintml.xrd.confidence import ConfidenceMap, phase_features
from fingerprintml.xrd.fit_figure import whole_pattern_fit
from fingerprintml.xrd.model import Identifier
from fingerprintml.xrd.patterns import (
    PATTERN_SUFFIXES,
    Grid,
    PatternReadError,
    Preprocessing,
    check_pattern,
    convert_wavelength,
    preprocess,
    read_measured_pattern,
)
from fingerprintml.xrd.refine import FitPhase, FitResult, FitSettings, PhaseResult, Radiation, fit_pattern
from fingerprintml.xrd.reflections import Reflections, wavelength_of
from fingerprintml.xrd.train import predict_logits
from fingerprintml.xrd.xrdml import read_xrdml

log = logging.getLogger(__name__)

IDENTIFY_COLUMNS = [
    "query",
    "component",
    "rank",
    "phase_id",
    "formula",
    "spacegroup",
    "score",
    "weight",
    "weight_fraction",
    "weight_fraction_sd",
    "confidence",
    "rwp",
    "unexplained_peaks",
]
REJECT_COLUMNS = ["query", "reason"]


@dataclass(frozen=True)
class IdentifySettings:
    """How measured patterns are identified (``xrd.identify``): the radiation of files that do not declare theirs
    (K-alpha1, and K-alpha2 with its intensity ratio; XRDML files give their own), how many of its best phases the
    network proposes to the whole-pattern fit (``candidates``, the dataset's setting; None: the whole library, in
    the network's order), how many it proposes for the counts the fitted phases leave unexplained after each phase
    (``remainder_candidates``, 0: none) and how that fit runs (``fit``)."""

    query_radiation: Radiation
    top_k: int
    candidates: int | None
    fit: FitSettings
    remainder_candidates: int = 0

    @classmethod
    def from_config(cls, identify: Mapping[str, Any], candidates: int | str) -> IdentifySettings:
        """Settings from ``xrd.identify`` and the dataset's ``candidates`` (a number, or ``all``)."""
        kalpha2 = identify["query_kalpha2"]
        return cls(
            query_radiation=Radiation(
                wavelength_of(identify["query_wavelength"]), float(kalpha2["wavelength"]), float(kalpha2["ratio"])
            ),
            top_k=int(identify["top_k"]),
            candidates=None if candidates == "all" else int(candidates),
            fit=FitSettings.from_config(identify["fit"]),
            remainder_candidates=int(identify.get("remainder_candidates", 0)),
        )


def prepare_query(
    two_theta: np.ndarray,
    intensity: np.ndarray,
    grid: Grid,
    measured_wavelength: float,
    model_wavelength: float,
    preprocessing: Preprocessing,
) -> np.ndarray:
    """Measured pattern -> model input: two-theta converted to the model's wavelength, then the preprocessing of
    the training patterns (:func:`fingerprintml.xrd.patterns.preprocess`)."""
    if measured_wavelength != model_wavelength:
        two_theta = convert_wavelength(two_theta, measured_wavelength, model_wavelength)
        keep = np.isfinite(two_theta)
        two_theta, intensity = two_theta[keep], intensity[keep]
    return preprocess(two_theta, intensity, grid, preprocessing)


@dataclass(frozen=True)
class Component:
    """One phase of an identified pattern: the network's ranking with the fitted phase first, their scores, and
    the fitted phase's share of the diffracted intensity, its weight fraction, the F statistic it was added
    with and its confidence."""

    top: np.ndarray
    scores: np.ndarray
    weight: float
    weight_fraction: float
    weight_fraction_sd: float
    evidence: float
    confidence: float  # calibrated P(present); NaN when identified without a confidence map


def identify_pattern(
    two_theta: np.ndarray,
    counts: np.ndarray,
    radiation: Radiation,
    score_fn: Callable[[np.ndarray], np.ndarray],
    library: list[FitPhase],
    *,
    grid: Grid,
    model_wavelength: float,
    settings: IdentifySettings,
    preprocessing: Preprocessing,
    confidence_map: ConfidenceMap | None = None,
) -> tuple[list[Component], FitResult]:
    """Identify the phases of one measured pattern: the network ranks the preprocessed pattern, its
    ``settings.candidates`` best phases (all, in its order, when None) are the candidates of the whole-pattern fit
    (:func:`fingerprintml.xrd.refine.fit_pattern`) on the measured counts, restricted to the angles the library's
    reflections reach (the model grid at the measured wavelength); after each phase the fit adds, the network's
    ``settings.remainder_candidates`` best for the counts the fitted phases leave unexplained join them
    (preprocessed as a query is). With a ``confidence_map`` the fit reports only
    phases at least ``settings.fit.min_confidence`` likely present; a phase it dropped is listed second in the
    ranking of the reported phase whose fitted pattern it overlaps most (an alternative, not a finding). Returns
    the fitted phases as components (the fitted phase first in its ranking) and the fit."""
    query = prepare_query(two_theta, counts, grid, radiation.kalpha1, model_wavelength, preprocessing)
    scores = score_fn(query[None])[0]
    ranked = np.argsort(-scores)
    reach = convert_wavelength(np.array([grid.start, grid.stop]), model_wavelength, radiation.kalpha1)
    inside = (two_theta >= reach[0]) & (two_theta <= np.nan_to_num(reach[1], nan=180.0))

    def propose(fit_two_theta: np.ndarray, remainder: np.ndarray) -> list[int]:
        remainder = prepare_query(fit_two_theta, remainder, grid, radiation.kalpha1, model_wavelength, preprocessing)
        return np.argsort(-score_fn(remainder[None])[0])[: settings.remainder_candidates].tolist()

    def confidence(phase: PhaseResult) -> float:
        features = phase_features(phase.evidence, phase.weight_fraction, phase.weight_fraction_sd, scores[phase.index])
        return float(confidence_map(features)[0])

    result = fit_pattern(
        two_theta[inside],
        counts[inside],
        library,
        radiation,
        settings.fit,
        ranked[: settings.candidates].tolist(),
        confidence=None if confidence_map is None else confidence,
        propose=propose if settings.remainder_candidates else None,
    )
    areas = result.components.sum(axis=1)
    alternatives: list[list[int]] = [[] for _ in result.phases]
    for phase, column in result.dropped if len(result.phases) else []:
        alternatives[int(np.argmax(result.components @ column))].append(phase.index)
    components = []
    for phase, area, dropped in zip(result.phases, areas, alternatives, strict=True):
        first = [phase.index, *dropped]
        top = np.array([*first, *(int(c) for c in ranked if int(c) not in first)][: settings.top_k])
        components.append(
            Component(
                top,
                scores[top],
                float(area / areas.sum()),
                phase.weight_fraction,
                phase.weight_fraction_sd,
                phase.evidence,
                phase.confidence,
            )
        )
    return components, result


def read_query(path: Path, default: Radiation) -> tuple[np.ndarray, np.ndarray, Radiation]:
    """Two-theta, counts and radiation of a measured pattern: an XRDML file's own wavelengths, else ``default``."""
    if path.suffix.lower() == ".xrdml":
        scan = read_xrdml(path)
        check_pattern(path.name, scan.two_theta, scan.counts)
        return scan.two_theta, scan.counts, Radiation(scan.kalpha1, scan.kalpha2, scan.kalpha2_ratio or 0.0)
    return (*read_measured_pattern(path), default)


def fit_library(library: list[Reflections], phases: pd.DataFrame) -> list[FitPhase]:
    """The library as the whole-pattern fit uses it: reflections and the mass of their cell (``cell_mass``)."""
    if "cell_mass" not in phases.columns:
        raise ValueError("library phases table has no cell_mass column: rebuild the library (xrd_convert)")
    return [
        FitPhase(str(phase_id), refl.allowed, float(mass))
        for refl, phase_id, mass in zip(library, phases["phase_id"], phases["cell_mass"], strict=True)
    ]


def format_peaks(peaks: list[tuple[float, float]]) -> str:
    """Unexplained peaks as ``2theta:height%`` separated by semicolons (height in % of the strongest peak)."""
    return ";".join(f"{position:.2f}:{height:.1f}" for position, height in peaks)


def identify_rows(
    query: str,
    components: list[Component],
    result: FitResult,
    phases: pd.DataFrame,
) -> list[dict]:
    rows = []
    for number, component in enumerate(components, start=1):
        for rank, (index, score) in enumerate(zip(component.top, component.scores, strict=True), start=1):
            phase = phases.iloc[int(index)]
            rows.append(
                {
                    "query": query,
                    "component": number,
                    "rank": rank,
                    "phase_id": phase["phase_id"],
                    "formula": phase["formula"],
                    "spacegroup": phase["spacegroup"],
                    "score": float(score),
                    "weight": component.weight,
                    "weight_fraction": component.weight_fraction,
                    "weight_fraction_sd": component.weight_fraction_sd,
                    "confidence": component.confidence,
                    "rwp": result.rwp,
                    "unexplained_peaks": format_peaks(result.unexplained),
                }
            )
    return rows


def identify_folder(
    folder: str | os.PathLike[str] | Sequence[str],
    library: list[Reflections],
    phases: pd.DataFrame,
    model: Identifier,
    classes: np.ndarray,
    device: torch.device,
    *,
    grid: Grid,
    wavelength: float,
    settings: IdentifySettings,
    preprocessing: Preprocessing,
    figures: str | os.PathLike[str] | None = None,
    confidence_map: ConfidenceMap | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Identify every pattern file (.xy/.xye/.csv/.xrdml) of ``folder`` (or the files listed), in name order, with the
    model whose classes are the library indices ``classes``. Returns the identifications (:data:`IDENTIFY_COLUMNS`:
    per query, component and rank) and the files left out, by name with the reason: unreadable, physically
    impossible (see :func:`fingerprintml.xrd.patterns.check_pattern`), outside the model's grid, or explained by no
    library phase. Every file is in exactly one of the two tables; a bad file never stops the others. With
    ``figures`` a folder, each identified query's fit is drawn there (``<query stem>.pdf/.png``). With a
    ``confidence_map`` (:mod:`fingerprintml.xrd.calibrate`), each reported phase gets its calibrated confidence and
    phases below ``settings.fit.min_confidence`` are alternatives, not reported (:func:`identify_pattern`); else the
    column is empty."""
    fit_phases = fit_library([library[c] for c in classes], phases.iloc[classes])
    class_phases = phases.iloc[classes].reset_index(drop=True)
    listing = Path(folder).iterdir() if isinstance(folder, str | os.PathLike) else map(Path, folder)
    files = sorted((f for f in listing if f.suffix.lower() in PATTERN_SUFFIXES), key=lambda f: f.name)
    rows, rejects = [], []
    for path in files:
        try:
            two_theta, counts, radiation = read_query(path, settings.query_radiation)
            components, result = identify_pattern(
                two_theta,
                counts,
                radiation,
                lambda x: predict_logits(model, x, device),
                fit_phases,
                grid=grid,
                model_wavelength=wavelength,
                settings=settings,
                preprocessing=preprocessing,
                confidence_map=confidence_map,
            )
        except PatternReadError as error:
            reason = str(error) if str(error).startswith(path.name) else f"{path.name}: {error}"
            log.warning("rejected %s", reason)
            rejects.append({"query": path.name, "reason": reason})
            continue
        if not components:
            formulas = class_phases["formula"]
            dropped = "".join(f"; {formulas.iloc[p.index]} dropped ({p.confidence:.2f})" for p, _ in result.dropped)
            reason = f"{path.name}: no library phase explains the pattern (the fit added none above noise{dropped})"
            log.warning("rejected %s", reason)
            rejects.append({"query": path.name, "reason": reason})
            continue
        rows += identify_rows(path.name, components, result, class_phases)
        if figures is not None:
            names = [class_phases["formula"].iloc[int(c.top[0])] for c in components]
            stem = Path(figures) / path.stem
            Path(figures).mkdir(parents=True, exist_ok=True)
            save_figure(whole_pattern_fit(result, names, path.name), f"{stem}.pdf", f"{stem}.png")
    log.info("%d patterns identified, %d rejected", len(files) - len(rejects), len(rejects))
    return pd.DataFrame(rows, columns=IDENTIFY_COLUMNS), pd.DataFrame(rejects, columns=REJECT_COLUMNS)
