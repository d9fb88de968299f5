"""Calibration of the confidence of reported phases (:mod:`fingerprintml.xrd.confidence`) on simulated mixtures of
the dataset's own library, whose truth is known: 1 to ``max_phases`` phases with Dirichlet weight fractions, each
augmented as the training patterns are, their per-cell intensities scaled by W / (ZMV) (Hill-Howard), background and
counting noise added; in a fraction of them one present phase is withheld from the candidates, as a phase outside the
library is, which is where wrong phases get reported. The mixtures go through the identification itself
(:func:`fingerprintml.xrd.identify.identify_pattern`); the map is fitted on part of them and its expected calibration
error measured on the held-out rest.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from fingerprintml.calibration import expected_calibration_error, reliability
from fingerprintml.logs import progress
from fingerprintml.seeds import rng_for
from fingerprintml.xrd.augment import add_background_and_noise, augmented_sticks, render_profiles
from fingerprintml.xrd.confidence import FEATURES, ConfidenceMap, fit_confidence_map, phase_features
from fingerprintml.xrd.demo import QUERY_COUNTS
from fingerprintml.xrd.identify import Component, IdentifySettings, fit_library, identify_pattern, prepare_query
from fingerprintml.xrd.model import Identifier
from fingerprintml.xrd.patterns import Grid, Preprocessing
from fingerprintml.xrd.refine import Radiation
from fingerprintml.xrd.reflections import Reflections
from fingerprintml.xrd.train import predict_logits

log = logging.getLogger(__name__)

# The simulated mixtures are sampled at this step (deg), as a measured scan is, whatever the model grid's step.
MIXTURE_STEP = 0.02
# Dirichlet concentration of the weight fractions: minor phases down to a few wt%, rarely below.
DIRICHLET_ALPHA = 2.0


@dataclass(frozen=True)
class CalibrationSettings:
    """How the confidence is calibrated (``xrd.identify.calibration``).

    Parameters
    ----------
    mixtures
        Simulated mixtures identified in all.
    max_phases
        Most phases per mixture (each mixture has 1 to ``max_phases``).
    open_fraction
        Fraction of the mixtures with one present phase withheld from the candidates.
    held_out
        Fraction of the mixtures the map is not fitted on, where its ECE is measured.
    bins
        Equal-width confidence bins of the ECE and the reliability diagram.
    """

    mixtures: int
    max_phases: int
    open_fraction: float
    held_out: float
    bins: int

    @classmethod
    def from_config(cls, calibration: Mapping[str, Any]) -> CalibrationSettings:
        return cls(**calibration)


def simulated_mixture(
    library: list[Reflections],
    cell_masses: np.ndarray,
    phases: np.ndarray,
    fractions: np.ndarray,
    grid: Grid,
    wavelength: float,
    augmentation: dict[str, Any],
    rng: np.random.Generator,
) -> np.ndarray:
    """Counts on ``grid`` of a mixture of the library ``phases`` at weight ``fractions``: each phase augmented (one
    copy: strain, size, profile, K-alpha2, texture, ...), its per-cell intensities scaled by W / (ZM V), summed,
    then background and counting noise, scaled as the demo queries are (:data:`fingerprintml.xrd.demo.QUERY_COUNTS`)."""
    total = np.zeros(grid.size)
    for index, fraction in zip(phases, fractions, strict=True):
        refl = library[index].allowed
        two_theta, intensity, fwhm = augmented_sticks(refl, wavelength, augmentation, rng, 1)
        profile = augmentation["profile"]
        eta = rng.uniform(profile["eta_min"], profile["eta_max"]) if profile["pseudo_voigt"] else 0.0
        volume = abs(float(np.linalg.det(refl.lattice)))
        total += (
            fraction / (cell_masses[index] * volume) * render_profiles(grid, two_theta[0], intensity[0], fwhm[0], eta)
        )
    noisy = add_background_and_noise((total / total.max())[None], grid, augmentation, rng)[0]
    return QUERY_COUNTS[0] * noisy + QUERY_COUNTS[1]


@dataclass(frozen=True)
class _Mixture:
    """One simulated mixture: its phases, counts, the phases withheld from the candidates and the network's scores
    (withheld ones at -inf)."""

    chosen: np.ndarray
    counts: np.ndarray
    withheld: np.ndarray
    scores: np.ndarray


# What the fork pool's workers fit (set before the pool forks, read by _identify).
_SHARED: dict[str, Any] = {}


def _identify(number: int) -> list[Component]:
    shared, mixture = _SHARED, _SHARED["mixtures"][number]
    identify = shared["identify"]
    offered = int((~mixture.withheld).sum())
    run = dataclasses.replace(identify, candidates=min(identify.candidates or offered, offered))
    components, _ = identify_pattern(
        shared["two_theta"],
        mixture.counts,
        shared["radiation"],
        lambda _: mixture.scores[None],
        shared["fit_phases"],
        grid=shared["grid"],
        model_wavelength=shared["wavelength"],
        settings=run,
        preprocessing=shared["preprocessing"],
    )
    return components


def calibration_mixtures(
    library: list[Reflections],
    phases: pd.DataFrame,
    score_fn: Callable[[np.ndarray], np.ndarray],
    *,
    grid: Grid,
    wavelength: float,
    augmentation: dict[str, Any],
    identify: IdentifySettings,
    preprocessing: Preprocessing,
    settings: CalibrationSettings,
    seed: int,
    processes: int = 1,
) -> pd.DataFrame:
    """Every phase the identification reports on ``settings.mixtures`` simulated mixtures of the library (the
    model's classes, in order, with their ``phases`` rows), one row each: the mixture, whether one of its phases was
    withheld, whether the mixture is held out, the phase, :data:`FEATURES` and ``present`` (the phase, or one of the
    same formula and space group, is in the mixture). The mixtures are drawn and scored by the network here, their
    whole-pattern fits run in ``processes`` forked processes (the result does not depend on their number)."""
    rng = rng_for(seed, "xrd", "calibration")
    phases = phases.reset_index(drop=True)
    masses = phases["cell_mass"].to_numpy(dtype=float)
    kind = (phases["formula"] + "|" + phases["spacegroup"]).to_numpy()
    sampled = Grid(grid.start, grid.stop, MIXTURE_STEP)
    held_out = rng.permutation(settings.mixtures) < round(settings.held_out * settings.mixtures)
    mixtures = []
    for _ in range(settings.mixtures):
        count = int(rng.integers(1, min(settings.max_phases, len(library)) + 1))
        chosen = rng.choice(len(library), count, replace=False)
        fractions = rng.dirichlet(np.full(count, DIRICHLET_ALPHA))
        counts = simulated_mixture(library, masses, chosen, fractions, sampled, wavelength, augmentation, rng)
        withheld = np.zeros(len(library), dtype=bool)
        if rng.random() < settings.open_fraction:
            withheld = kind == kind[rng.choice(chosen)]
        query = prepare_query(sampled.two_theta, counts, grid, wavelength, wavelength, preprocessing)
        scores = np.where(withheld, -np.inf, score_fn(query[None])[0])
        mixtures.append(_Mixture(chosen, counts, withheld, scores))
    kalpha2 = augmentation["kalpha2"]
    _SHARED.update(
        mixtures=mixtures,
        identify=identify,
        two_theta=sampled.two_theta,
        radiation=Radiation(wavelength, *((kalpha2["wavelength"], kalpha2["ratio"]) if kalpha2["enabled"] else ())),
        fit_phases=fit_library(library, phases),
        grid=grid,
        wavelength=wavelength,
        preprocessing=preprocessing,
    )
    with multiprocessing.get_context("fork").Pool(max(1, processes)) as pool:
        fitted = list(progress(pool.imap(_identify, range(len(mixtures))), total=len(mixtures), desc="mixture fits"))
    _SHARED.clear()
    rows = []
    for number, (mixture, components) in enumerate(zip(mixtures, fitted, strict=True)):
        for component in components:
            index = int(component.top[0])
            features = phase_features(
                component.evidence, component.weight_fraction, component.weight_fraction_sd, component.scores[0]
            )[0]
            rows.append(
                {
                    "mixture": number,
                    "held_out": bool(held_out[number]),
                    "withheld": bool(mixture.withheld.any()),
                    "phase_id": phases["phase_id"].iloc[index],
                    **dict(zip(FEATURES, features.tolist(), strict=True)),
                    "present": bool(kind[index] in set(kind[mixture.chosen]) and not mixture.withheld[index]),
                }
            )
    return pd.DataFrame(rows)


def calibrate(mixtures: pd.DataFrame, bins: int) -> tuple[ConfidenceMap, dict[str, float], pd.DataFrame]:
    """The confidence map fitted on the mixtures not held out, and on the held-out ones: a summary (phases,
    share present, ECE of the map and of taking every reported phase as certain) and the reliability table
    (:func:`fingerprintml.calibration.reliability`) of the map."""
    fitted = mixtures[~mixtures["held_out"]]
    test = mixtures[mixtures["held_out"]]
    if fitted.empty or test.empty:
        raise ValueError("the calibration needs reported phases on both the fitted and the held-out mixtures")
    confidence_map = fit_confidence_map(fitted[list(FEATURES)].to_numpy(), fitted["present"].to_numpy())
    confidence = confidence_map(test[list(FEATURES)].to_numpy())
    present = test["present"].to_numpy(dtype=float)
    summary = {
        "fitted_phases": len(fitted),
        "held_out_phases": len(test),
        "held_out_present": float(present.mean()),
        "ece": expected_calibration_error(confidence, present, bins),
        "ece_certain": expected_calibration_error(np.ones(len(present)), present, bins),
    }
    log.info("confidence calibration: %s", summary)
    return confidence_map, summary, reliability(confidence, present, bins)


@dataclass(frozen=True)
class Calibration:
    """The fitted confidence map, its held-out summary and reliability table, and every labelled mixture phase."""

    confidence_map: ConfidenceMap
    summary: dict[str, float]
    reliability: pd.DataFrame
    mixtures: pd.DataFrame


def calibrate_identifier(
    library: list[Reflections],
    phases: pd.DataFrame,
    model: Identifier,
    classes: np.ndarray,
    device: torch.device,
    *,
    grid: Grid,
    wavelength: float,
    augmentation: dict[str, Any],
    identify: IdentifySettings,
    preprocessing: Preprocessing,
    settings: CalibrationSettings,
    seed: int,
    processes: int = 1,
) -> Calibration:
    """Calibrate the confidence of the phases the identification with ``model`` (classes: library indices
    ``classes``) reports, on simulated mixtures of those classes (:func:`calibration_mixtures`, :func:`calibrate`)."""
    mixtures = calibration_mixtures(
        [library[c] for c in classes],
        phases.iloc[classes],
        lambda x: predict_logits(model, x, device),
        grid=grid,
        wavelength=wavelength,
        augmentation=augmentation,
        identify=identify,
        preprocessing=preprocessing,
        settings=settings,
        seed=seed,
        processes=processes,
    )
    confidence_map, summary, table = calibrate(mixtures, settings.bins)
    mixtures["confidence"] = confidence_map(mixtures[list(FEATURES)].to_numpy())
    return Calibration(confidence_map, summary, table, mixtures)
