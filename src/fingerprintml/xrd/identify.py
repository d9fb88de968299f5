"""Identification of measured patterns: preprocessing, ranking, and mixtures by subtract-and-re-identify."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy.optimize import nnls

from fingerprintml.xrd.augment import clean_pattern
from fingerprintml.xrd.model import Identifier
from fingerprintml.xrd.patterns import (
    PATTERN_SUFFIXES,
    Grid,
    PatternReadError,
    Preprocessing,
    convert_wavelength,
    normalise,
    preprocess,
    read_measured_pattern,
)
from fingerprintml.xrd.reflections import Reflections, wavelength_of
from fingerprintml.xrd.train import predict_logits

log = logging.getLogger(__name__)

IDENTIFY_COLUMNS = ["query", "component", "rank", "phase_id", "formula", "spacegroup", "score", "weight"]
REJECT_COLUMNS = ["query", "reason"]


@dataclass(frozen=True)
class IdentifySettings:
    """How measured patterns are identified (``xrd.identify``)."""

    query_wavelength: float
    max_phases: int
    top_k: int
    candidates: int
    min_explained: float
    reference_fwhm: tuple[float, ...]
    max_shift: float

    @classmethod
    def from_config(cls, identify: Mapping[str, Any]) -> IdentifySettings:
        counts = {key: int(identify[key]) for key in ("max_phases", "top_k", "candidates")}
        return cls(
            query_wavelength=wavelength_of(identify["query_wavelength"]),
            min_explained=float(identify["min_explained"]),
            reference_fwhm=tuple(float(w) for w in identify["reference_fwhm"]),
            max_shift=float(identify["max_shift"]),
            **counts,
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


def identify_mixture(
    pattern: np.ndarray,
    score_fn: Callable[[np.ndarray], np.ndarray],
    references: np.ndarray,
    *,
    max_phases: int,
    top_k: int,
    candidates: int,
    min_explained: float,
    max_lag: int = 0,
) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """Identify up to ``max_phases`` phases by a network-guided pursuit: the model ranks what is left of the
    pattern, each of its ``candidates`` best phases not found yet is fitted together with the phases found so far
    by non-negative least squares, and the one that explains most is added, as long as it explains at least
    ``min_explained`` of the pattern's squared intensity. ``references`` (phases, widths, grid) holds each phase's
    clean pattern at a few peak widths (the fit mixes them to follow the measured broadening), each phase shifted
    as a whole by up to ``max_lag`` grid steps to its best overlap (zero shift, strain).
    Returns per component (top-k indices with the chosen phase first, their scores, fitted weight)."""
    pattern = pattern.astype(float)
    total = float(pattern @ pattern)
    widths = references.shape[1]
    found: list[int] = []
    columns: list[np.ndarray] = []
    components: list[tuple[np.ndarray, np.ndarray, float]] = []
    residual = pattern
    for _ in range(max_phases):
        scores = score_fn(normalise(np.clip(residual, 0, None))[None].astype(np.float32))[0]
        ranked = np.argsort(-scores)
        best = None
        for phase in (int(c) for c in ranked[:candidates] if int(c) not in found):
            shifted = aligned(references[phase].astype(float), residual, max_lag)
            weights, distance = nnls(np.column_stack([*columns, *shifted]), pattern)
            explained = (float(residual @ residual) - distance**2) / total
            if best is None or explained > best[0]:
                best = (explained, phase, shifted, weights)
        if best is None or best[0] < min_explained:
            break
        _, phase, shifted, weights = best
        found.append(phase)
        columns.extend(shifted)
        top = np.array([phase, *(int(c) for c in ranked if int(c) != phase)][:top_k])
        components.append((top, scores[top], float(weights[-widths:].sum())))
        residual = pattern - np.column_stack(columns) @ weights
    return components


def aligned(references: np.ndarray, pattern: np.ndarray, max_lag: int) -> np.ndarray:
    """``references`` (widths, grid) of one phase shifted by the whole number of grid steps (|lag| <= max_lag) at
    which their middle width best overlaps ``pattern``."""
    middle = references[len(references) // 2]
    best = max(range(-max_lag, max_lag + 1), key=lambda lag: float(np.roll(middle, lag) @ pattern))
    return np.roll(references, best, axis=1)


def reference_patterns(library: list[Reflections], grid: Grid, wavelength: float, widths: list[float]) -> np.ndarray:
    """Clean patterns (phases, widths, grid) of each library phase at each peak FWHM (deg)."""
    return np.stack([np.stack([clean_pattern(refl, grid, wavelength, fwhm) for fwhm in widths]) for refl in library])


def identify_rows(query: str, components, phases: pd.DataFrame) -> list[dict]:
    rows = []
    for number, (top, scores, weight) in enumerate(components, start=1):
        for rank, (index, score) in enumerate(zip(top, scores, strict=True), start=1):
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
                    "weight": weight,
                }
            )
    return rows


def identify_folder(
    folder: str | os.PathLike[str],
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
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Identify every pattern file (.xy/.xye/.csv) of ``folder``, in name order, with the model whose classes are
    the library indices ``classes``. Returns the identifications (:data:`IDENTIFY_COLUMNS`: per query, component
    and rank) and the files left out, by name with the reason: unreadable, physically impossible (see
    :func:`fingerprintml.xrd.patterns.check_pattern`), outside the model's grid, or explained by no library phase.
    Every file is in exactly one of the two tables; a bad file never stops the others."""
    references = reference_patterns([library[c] for c in classes], grid, wavelength, list(settings.reference_fwhm))
    class_phases = phases.iloc[classes].reset_index(drop=True)
    max_lag = round(settings.max_shift / grid.step)
    files = sorted(f for f in Path(folder).iterdir() if f.suffix.lower() in PATTERN_SUFFIXES)
    rows, rejects = [], []
    for path in files:
        try:
            two_theta, intensity = read_measured_pattern(path)
            pattern = prepare_query(two_theta, intensity, grid, settings.query_wavelength, wavelength, preprocessing)
        except PatternReadError as error:
            reason = str(error) if str(error).startswith(path.name) else f"{path.name}: {error}"
            log.warning("rejected %s", reason)
            rejects.append({"query": path.name, "reason": reason})
            continue
        components = identify_mixture(
            pattern,
            lambda x: predict_logits(model, x, device),
            references,
            max_phases=settings.max_phases,
            top_k=settings.top_k,
            candidates=settings.candidates,
            min_explained=settings.min_explained,
            max_lag=max_lag,
        )
        if not components:
            reason = f"{path.name}: no library phase explains at least {settings.min_explained:g} of the pattern"
            log.warning("rejected %s", reason)
            rejects.append({"query": path.name, "reason": reason})
            continue
        rows += identify_rows(path.name, components, class_phases)
    log.info("%d patterns identified, %d rejected", len(files) - len(rejects), len(rejects))
    return pd.DataFrame(rows, columns=IDENTIFY_COLUMNS), pd.DataFrame(rejects, columns=REJECT_COLUMNS)
