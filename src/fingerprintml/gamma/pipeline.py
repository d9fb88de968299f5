"""Steps of the gamma workflow that combine the modules, one per rule: preprocessing a split, the reference
background, features, training and scoring the detection and identification models, the test metrics, and the
classification of spectra with activities."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import joblib
import numpy as np
import pandas as pd

from fingerprintml.gamma.activity import LineFitter
from fingerprintml.gamma.classify import activity_tables, identify, predictions_table, read_split
from fingerprintml.gamma.combine import Combiner, CombineSettings, method_answers, method_predictions, peak_table
from fingerprintml.gamma.detector import DetectorPreset
from fingerprintml.gamma.features import compute
from fingerprintml.gamma.library import source_lines
from fingerprintml.gamma.metrics import (
    binary_metrics,
    multilabel_metrics,
    probabilities_by_method,
    probability_columns,
    score_table,
)
from fingerprintml.gamma.models import binary_model, multilabel_model
from fingerprintml.gamma.preprocess import Binned, PreprocessSettings, smooth
from fingerprintml.gamma.presets import AUTO
from fingerprintml.gamma.resolution import fit_detector
from fingerprintml.gamma.sigma import Reference, line_windows, reference, total_score, window_score
from fingerprintml.gamma.spectrum import Spectrum
from fingerprintml.io import atomic_path

log = logging.getLogger(__name__)

SIGMA_METHODS = ("sigma_total", "sigma_window")


def preprocess_split(
    data_dir: str | os.PathLike[str], split: str, nuclides: list[str], settings: PreprocessSettings
) -> tuple[Binned, np.ndarray, pd.DataFrame, pd.DataFrame]:
    """Read and rebin the spectra of ``split`` (train, test, or query: ``data_dir`` itself): the rebinned spectra,
    their (smoothed) count rates, labels and rejects table; every reject is logged."""
    binned, labels, rejects = read_split(data_dir, split, nuclides, settings)
    for row in rejects.itertuples(index=False):
        log.warning("%s (%s): %s", row.file, row.action, row.problem)
    skipped = int((rejects["action"] == "skipped").sum())
    log.info("%d spectra rebinned to %d keV; %d rejected", len(binned.files), settings.cap_kev, skipped)
    return binned, smooth(binned.rates, settings.smoothing_window, settings.smoothing_polyorder), labels, rejects


def background_reference(
    binned: Binned,
    labels: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    nuclides: list[str],
    resolution: Mapping[str, float],
    window_fwhm: float,
) -> Reference:
    """The reference background of the sigma method from the training background spectra (has_source 0), with
    windows of +-``window_fwhm`` FWHM around the lines of ``nuclides`` below the spectra's cap."""
    is_background = labels["has_source"].to_numpy() == 0
    cap_kev = binned.counts.shape[1]
    windows = line_windows(source_lines(lines, nuclides), dict(resolution), cap_kev, window_fwhm)
    ref = reference(binned.counts[is_background], binned.live_time[is_background], windows)
    log.info("reference background from %d spectra: %.2f counts/s", is_background.sum(), ref.mean_rate.sum())
    return ref


def features(rates: np.ndarray, settings: Mapping[str, Any], background_rate: np.ndarray | None = None) -> np.ndarray:
    """Features of ``settings`` (``gamma.features.<stage>``) of the rates, less ``background_rate`` if given."""
    if background_rate is not None:
        rates = rates - background_rate[None, :]
    values = compute(rates, dict(settings))
    log.info("%s features: %s", settings["method"], values.shape)
    return values


@dataclass(frozen=True)
class TrainingSettings:
    """The models of one stage: ``methods`` with their ``gamma.models`` settings, the features' scaling, the seed,
    the threads, and for the multilabel stage the calibration share; for the binary stage the sigma thresholds
    (``k_total``, ``k_window``)."""

    methods: tuple[str, ...]
    models: Mapping[str, Mapping[str, Any]]
    scaling: str
    seed: int
    threads: int = 1
    calibration_fraction: float = 0.25
    k_total: float = 3.0
    k_window: float = 5.0


def train_binary(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    test_labels: pd.DataFrame,
    settings: TrainingSettings,
    test: tuple[Binned, Reference] | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Fit the binary models; score the test spectra with them (probability, predicted at 0.5) and, given the
    test spectra and the reference background, with the sigma methods (excess in standard deviations, predicted
    above k). Returns the fitted models by method and the score table (``metrics.score_table`` layout)."""
    files, truth = test_labels["file"].to_numpy(), test_labels["has_source"].to_numpy()
    models, tables = {}, []
    for method in settings.methods:
        model = binary_model(method, dict(settings.models[method]), settings.scaling, settings.seed, settings.threads)
        models[method] = model.fit(x_train, y_train)
        score = model.predict_proba(x_test)[:, 1]
        tables.append(score_table(files, truth, method, score, score >= 0.5))
    if test is not None:
        binned, ref = test
        for method, score, k in [
            ("sigma_total", total_score(binned.counts, binned.live_time, ref), settings.k_total),
            ("sigma_window", window_score(binned.counts, binned.live_time, ref), settings.k_window),
        ]:
            tables.append(score_table(files, truth, method, score, score > k))
    scores = pd.concat(tables, ignore_index=True)
    for method, part in scores.groupby("method", sort=False):
        log.info("%s: test accuracy %.4f", method, (part["predicted"] == part["has_source"]).mean())
    return models, scores


def write_models(models: Mapping[str, Any], paths: list[str]) -> None:
    """Write the fitted ``models`` (in their order) to ``paths`` with joblib, each atomically."""
    if len(models) != len(paths):
        raise ValueError(f"{len(models)} models for {len(paths)} files")
    for model, path in zip(models.values(), paths, strict=True):
        with atomic_path(path) as tmp:
            joblib.dump(model, tmp)


def train_multilabel(
    x_train: np.ndarray,
    train_labels: pd.DataFrame,
    x_test: np.ndarray,
    test_labels: pd.DataFrame,
    nuclides: list[str],
    settings: TrainingSettings,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """Fit the calibrated multilabel models; return them by method and the long table of their test
    probabilities (file, method, p_<nuclide>)."""
    y_train, y_test = train_labels[nuclides].to_numpy(), test_labels[nuclides].to_numpy()
    models, tables = {}, []
    for method in settings.methods:
        model = multilabel_model(
            method,
            dict(settings.models[method]),
            settings.scaling,
            settings.calibration_fraction,
            settings.seed,
            settings.threads,
        )
        models[method] = model.fit(x_train, y_train)
        probability = model.predict_proba(x_test)
        table = pd.DataFrame(probability, columns=probability_columns(nuclides))
        table.insert(0, "method", method)
        table.insert(0, "file", test_labels["file"].to_numpy())
        tables.append(table)
        log.info("%s: test exact match %.4f", method, ((probability >= 0.5) == y_test).all(axis=1).mean())
    return models, pd.concat(tables, ignore_index=True)


def evaluate(
    scores: pd.DataFrame, probabilities: pd.DataFrame, labels: pd.DataFrame, nuclides: list[str], threshold: float
) -> dict[str, pd.DataFrame]:
    """The test metrics: ``binary`` and ``confusion`` from the score table, ``multilabel`` and ``per_nuclide`` from
    the probability table (identified at or above ``threshold``) against the labels."""
    binary, confusion = binary_metrics(scores)
    labels = labels.set_index("file")
    per_method = probabilities_by_method(probabilities, labels.index, nuclides)
    predicted = {m: (p >= threshold).astype(int) for m, p in per_method.items()}
    overall, per_nuclide = multilabel_metrics(labels[nuclides].to_numpy(), predicted, per_method, nuclides)
    log.info("binary:\n%s\nmultilabel:\n%s", binary.to_string(), overall.to_string())
    return {"binary": binary, "confusion": confusion, "multilabel": overall, "per_nuclide": per_nuclide}


def rejects_by_split(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """The rejects tables of the splits in one, with a ``split`` column."""
    return pd.concat([table.assign(split=split) for split, table in tables.items()], ignore_index=True)


@dataclass(frozen=True)
class ClassifySettings:
    """How spectra are classified and their activities fitted: the nuclides, the multilabel ``threshold``, the
    training ``detector`` block, the ``query_detector`` of the user's spectra (a block, 'auto': fitted to each
    spectrum's peaks, None: the training detector), the spectra's ``calibration``, the line fit window
    (``half_width_fwhm``) and background degree, and the dates (``reference_date``; ``measurement_date`` for spectra
    without one, None: the reference), and the ``method`` whose answer is reported (``gamma.predict.method``: ml,
    peaks or combined; the latter two where the peak identification and the combination are given)."""

    nuclides: tuple[str, ...]
    threshold: float
    detector: Mapping[str, Any]
    calibration: tuple[float, float]
    half_width_fwhm: float
    background_degree: int
    reference_date: str
    measurement_date: str | None = None
    query_detector: Mapping[str, Any] | str | None = None
    method: str = "ml"


def fit_combination(
    features: tuple[np.ndarray, np.ndarray],
    models: tuple[Any, Any],
    labels: pd.DataFrame,
    limits: pd.DataFrame,
    nuclides: list[str],
    settings: CombineSettings,
) -> Combiner:
    """Fit the combination of the (binary, multilabel) ``models`` with the peak identification (``limits``: its
    per-nuclide table) on validation spectra (their features and labels)."""
    significance, reported = peak_table(limits, labels["file"], nuclides)
    combiner = Combiner(nuclides, settings).fit(
        models[0].predict_proba(features[0])[:, 1],
        models[1].predict_proba(features[1]),
        significance,
        reported,
        labels[nuclides].to_numpy(),
    )
    for name, model in zip(["source", *nuclides], [combiner.source, *combiner.per_nuclide], strict=True):
        log.info("%s: coefficients (model logit, asinh significance, reported) %s", name, np.round(model.coef_[0], 3))
    log.info("source threshold %.4f (false alarm rate %g)", combiner.source_threshold, settings.false_alarm_rate)
    return combiner


def spectrum_detectors(binned: Binned, settings: ClassifySettings) -> list[DetectorPreset]:
    """The detector of each spectrum: ``query_detector`` (or the training detector); with 'auto' the resolution
    fitted to the spectrum's peaks in its 1 keV bins (:func:`resolution.fit_detector`), the training detector
    where it has no usable peak (logged, and named so in the predictions)."""
    training = DetectorPreset(settings.detector["name"], settings.detector)
    if settings.query_detector is None:
        return [training] * len(binned.files)
    if settings.query_detector != AUTO:
        return [DetectorPreset(settings.query_detector["name"], settings.query_detector)] * len(binned.files)
    detectors = []
    for i, name in enumerate(binned.files):
        spectrum = Spectrum(binned.counts[i], binned.live_time[i], binned.live_time[i], 1.0, (1.0, 0.0), name)
        try:
            fitted, peaks = fit_detector(spectrum)
        except ValueError as error:
            log.warning("%s; its activities use gamma.detector", error)
            detectors.append(DetectorPreset(f"{training.name} (auto: no usable peak)", training.block))
            continue
        law = fitted.block["resolution"]
        log.info(
            "%s: %s from %d peaks, FWHM(662 keV) %.2f keV", name, fitted.name, peaks["used"].sum(), fitted.fwhm(661.657)
        )
        detectors.append(
            DetectorPreset(f"{fitted.name} a={law['a']:.3g} b={law['b']:.3g} c={law['c']:.3g}", fitted.block)
        )
    return detectors


def classify_spectra(
    binned: Binned,
    features: tuple[np.ndarray, np.ndarray],
    models: tuple[Any, Any],
    background_rate: np.ndarray,
    lines: pd.DataFrame,
    settings: ClassifySettings,
    identification: pd.DataFrame | None = None,
    combination: tuple[Combiner, pd.DataFrame] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Classify spectra with the (binary, multilabel) ``models`` on their (binary, multilabel) ``features``, and fit
    the activities of the identified nuclides. Returns the per-spectrum predictions (with the peak-based
    ``identification`` of the same spectra beside them where given: ``identify.identify_spectra``'s summary) and the
    per-line fits. Given the ``combination`` (the fitted combiner and the peak identification's per-nuclide table
    of these spectra), each method's answer is a column (:func:`combine.method_answers`) and ``has_source`` and
    ``nuclides`` are those of ``settings.method``."""
    nuclides = list(settings.nuclides)
    source_probability = models[0].predict_proba(features[0])[:, 1]
    nuclide_probability = models[1].predict_proba(features[1])
    identified = identify(source_probability, nuclide_probability, nuclides, settings.threshold)
    answers = None
    if combination is not None:
        combiner, limits = combination
        peaks = peak_table(limits, binned.files, nuclides)
        answers = method_answers(binned.files, (source_probability, identified), peaks, combiner, nuclide_probability)
        if identification is not None:
            # its peak_has_source is the answers' (the same sources)
            answers = answers.merge(
                identification.drop(columns="peak_has_source"), on="file", how="left", validate="one_to_one"
            )
        adopted = method_predictions(answers, settings.method)
        identified = [n.split("+") if n else [] for n in adopted["nuclides"]]
    elif settings.method != "ml":
        raise ValueError(f"gamma.predict.method {settings.method!r} needs the peak identification and combination")
    detectors = spectrum_detectors(binned, settings)
    fitters: dict[str, LineFitter] = {}
    for detector in {d.name: d for d, found in zip(detectors, identified, strict=True) if found}.values():
        fitters[detector.name] = LineFitter(
            source_lines(lines, nuclides),
            dict(detector.block),
            binned.counts.shape[1],
            tuple(settings.calibration),
            settings.half_width_fwhm,
            settings.background_degree,
        )
    line_table = activity_tables(
        binned,
        identified,
        [fitters.get(d.name) for d in detectors],
        background_rate,
        lines,
        reference_date=settings.reference_date,
        default_date=settings.measurement_date,
    )
    table = predictions_table(binned.files, source_probability, nuclide_probability, nuclides, identified, line_table)
    table["detector"] = [d.name for d in detectors]
    if answers is not None:
        table["has_source"] = adopted["has_source"].to_numpy()
        table = table.merge(answers, on="file", how="left", validate="one_to_one")
    elif identification is not None:
        table = table.merge(identification, on="file", how="left", validate="one_to_one")
    log.info("%d spectra: %d with a source; %d lines fitted", len(table), table["has_source"].sum(), len(line_table))
    return table, line_table
