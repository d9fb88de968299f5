"""How far the particle classifier can be trusted, and the class fractions of a sample with their uncertainty.

- *Calibration*: expected calibration error (ECE) and reliability bins of each run's test predictions, before and
  after temperature scaling fitted on the run's validation predictions (Guo et al. 2017).
- *Abundances*: per sample (a held-out acquisition session, an inference sample) the argmax fractions and the
  fractions corrected for the shift between the class frequencies the model was calibrated for and the sample's, by
  the EM of Saerens, Latinne & Decaestecker (2002, Neural Computation 14:21) on probabilities recalibrated by
  bias-corrected temperature scaling on the validation set (Alexandari, Kundaje & Shrikumar 2020, ICML), with
  percentile bootstrap intervals over the sample's particles (the EM rerun on every draw).
- *Novelty*: squared Mahalanobis distance of the 64-d embedding to the nearest class mean, the covariance shared by
  the classes and fitted on the training embeddings (Lee et al. 2018, NeurIPS); a particle is flagged above a
  quantile of the validation particles' distances (held-out sessions of the known classes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import log_softmax

from fingerprintml.calibration import expected_calibration_error, reliability
from fingerprintml.io import write_arrays
from fingerprintml.seeds import rng_for

log = logging.getLogger(__name__)

# Probabilities are turned back into logits as log(p); a softmax output of exactly 0 (float32 underflow) is floored
# here, which changes no probability above it.
LOG_FLOOR = 1e-12
# Fractions are quoted to three decimals; the EM stops when no prior moves by more than this.
EM_TOLERANCE = 1e-6
EM_MAX_ITERATIONS = 1000
# Bootstrap draws are run through the EM together, this many particle weights at a time (memory).
BOOTSTRAP_CHUNK = 10_000_000
# Flagged particles named per row of a novelty summary, the most distant first.
NOVEL_EXAMPLES = 5


@dataclass(frozen=True)
class TrustSettings:
    """Settings of ``particles.trust``.

    Parameters
    ----------
    ece_bins: equal-width confidence bins of the ECE and the reliability diagrams.
    bootstrap: bootstrap draws (particles resampled within a sample) of the abundance intervals.
    calibration_draws: resamples of the validation set (calibration and source prior refitted) the bootstrap draws
        take in turn; 0: the particles' resampling only.
    confidence: coverage of the abundance intervals (percentile bootstrap).
    novelty_quantile: quantile of the validation particles' novelty scores above which a particle is flagged.
    """

    ece_bins: int = 10
    bootstrap: int = 1000
    calibration_draws: int = 100
    confidence: float = 0.95
    novelty_quantile: float = 0.99

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> TrustSettings:
        settings = cls(**config)
        for key in ("confidence", "novelty_quantile"):
            if not 0 < getattr(settings, key) < 1:
                raise ValueError(f"particles.trust.{key} {getattr(settings, key)!r}: must be between 0 and 1")
        return settings


def class_probabilities(table: pd.DataFrame) -> tuple[list[str], np.ndarray]:
    """The classes of a predictions table (its ``p_<class>`` columns, in order) and the (n, k) probabilities."""
    classes = [column.removeprefix("p_") for column in table.columns if column.startswith("p_")]
    if not classes:
        raise ValueError(f"a predictions table needs p_<class> columns; it has {list(table.columns)}")
    return classes, table[[f"p_{c}" for c in classes]].to_numpy(float)


def class_indices(names: pd.Series, classes: list[str]) -> np.ndarray:
    """Indices into ``classes`` of the class names ``names``; a name outside ``classes`` is an error naming it."""
    lookup = {name: i for i, name in enumerate(classes)}
    unknown = sorted(set(names) - set(lookup))
    if unknown:
        raise ValueError(f"class(es) {unknown} are not classes of the model {classes}")
    return names.map(lookup).to_numpy(int)


def probability_logits(probabilities: np.ndarray) -> np.ndarray:
    """Logits of softmax outputs, up to a per-row constant no softmax sees: log p, floored."""
    return np.log(np.clip(np.asarray(probabilities, dtype=float), LOG_FLOOR, None))


class TemperatureScaling:
    """``softmax(z / T)`` (temperature scaling) or, with ``bias``, ``softmax(z / T + b)`` (bias-corrected temperature
    scaling, whose per-class biases also absorb a difference between the class frequencies the model was trained for
    and those of the held-out set it is fitted on), fitted by the likelihood of held-out labels.

    Parameters
    ----------
    bias: also fit one bias per class (the first held at 0).
    """

    def __init__(self, bias: bool = False) -> None:
        self.bias = bias

    def _log_probabilities(self, logits: np.ndarray, params: np.ndarray) -> np.ndarray:
        shift = np.r_[0.0, params[1:]] if self.bias else 0.0
        return log_softmax(logits / np.exp(params[0]) + shift, axis=1)

    def fit(self, probabilities: np.ndarray, labels: np.ndarray) -> TemperatureScaling:
        """Fit on held-out ``probabilities`` (n, k) and their true class indices ``labels``."""
        logits = probability_logits(probabilities)
        labels = np.asarray(labels, dtype=int)
        if len(labels) == 0:
            raise ValueError("temperature scaling needs at least one held-out prediction")
        rows = np.arange(len(labels))

        def nll(params: np.ndarray) -> float:
            return float(-self._log_probabilities(logits, params)[rows, labels].mean())

        start = np.zeros(1 + (logits.shape[1] - 1 if self.bias else 0))
        bounds = [(-4.0, 4.0)] + [(-10.0, 10.0)] * (len(start) - 1)
        self.params_ = minimize(nll, start, method="L-BFGS-B", bounds=bounds).x
        self.temperature_ = float(np.exp(self.params_[0]))
        return self

    def predict_proba(self, probabilities: np.ndarray) -> np.ndarray:
        """Calibrated probabilities of the model's ``probabilities`` (n, k)."""
        return np.exp(self._log_probabilities(probability_logits(probabilities), self.params_))


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the class indices ``labels`` under ``probabilities``."""
    return float(-probability_logits(probabilities)[np.arange(len(labels)), labels].mean())


def calibrate_runs(
    runs: list[str], validation: list[pd.DataFrame], test: list[pd.DataFrame], bins: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per run, temperature scaling fitted on its validation predictions and measured on its test predictions.

    Returns one row per run (validation and test images, temperature, ECE and negative log-likelihood of the test
    predictions before and after, test accuracy) and the reliability bins of the test predictions per run and stage
    (``before``, ``after``).
    """
    rows, bins_tables = [], []
    for run, val, tst in zip(runs, validation, test, strict=True):
        classes, val_p = class_probabilities(val)
        _, test_p = class_probabilities(tst)
        labels = class_indices(tst["class"], classes)
        scaling = TemperatureScaling().fit(val_p, class_indices(val["class"], classes))
        row = {"run": run, "val_images": len(val), "test_images": len(tst), "temperature": scaling.temperature_}
        for stage, p in (("before", test_p), ("after", scaling.predict_proba(test_p))):
            confidence, correct = p.max(axis=1), p.argmax(axis=1) == labels
            row[f"ece_{stage}"] = expected_calibration_error(confidence, correct, bins)
            row[f"nll_{stage}"] = negative_log_likelihood(p, labels)
            bins_tables.append(reliability(confidence, correct, bins).assign(run=run, stage=stage))
        row["accuracy"] = float((test_p.argmax(axis=1) == labels).mean())
        rows.append(row)
    table = pd.concat(bins_tables, ignore_index=True)
    return pd.DataFrame(rows), table[["run", "stage", *[c for c in table.columns if c not in ("run", "stage")]]]


def saerens_em(
    posteriors: np.ndarray,
    source_prior: np.ndarray,
    weights: np.ndarray | None = None,
    tolerance: float = EM_TOLERANCE,
    max_iterations: int = EM_MAX_ITERATIONS,
) -> np.ndarray:
    """Class priors of a sample by the EM of Saerens et al. (2002), accelerated by SQUAREM (Varadhan & Roland 2008,
    Scand. J. Stat. 35:335): a prior near 0 makes plain EM crawl.

    Parameters
    ----------
    posteriors: (n, k) calibrated class probabilities of the sample's particles under ``source_prior``.
    source_prior: (k,) class frequencies the posteriors are calibrated for.
    weights: (b, n) particle weights of ``b`` samples at once (bootstrap counts); None: each particle once.

    Returns the (k,) prior, or (b, k) with ``weights``; a class prior below ``tolerance`` is 0.
    """
    posteriors = np.asarray(posteriors, dtype=float)
    source_prior = np.asarray(source_prior, dtype=float)
    if np.any(source_prior <= 0):
        raise ValueError(f"every class needs a positive source prior; got {source_prior}")
    single = weights is None
    weights = np.ones((1, len(posteriors))) if single else np.asarray(weights, dtype=float)
    totals = weights.sum(axis=1, keepdims=True)

    def step(prior: np.ndarray) -> np.ndarray:
        # The E step's posteriors q_ik r_k / sum_j q_ij r_j (r = prior / source prior) summed with the weights, as
        # two matrix products instead of a (b, n, k) array.
        ratio = prior / source_prior
        return ratio * ((weights / (ratio @ posteriors.T)) @ posteriors) / totals

    prior = np.tile(source_prior, (len(weights), 1))
    for _ in range(max_iterations):
        once = step(prior)
        twice = step(once)
        r, v = once - prior, twice - 2 * once + prior
        norm_v = np.linalg.norm(v, axis=1, keepdims=True)
        alpha = np.minimum(-np.linalg.norm(r, axis=1, keepdims=True) / np.where(norm_v > 0, norm_v, 1), -1)
        jump = prior - 2 * alpha * r + alpha**2 * v
        # A jump off the simplex falls back to the two plain EM steps (alpha = -1 gives exactly those).
        updated = step(np.where((jump < 0).any(axis=1, keepdims=True), twice, jump))
        converged = np.abs(updated - prior).max() < tolerance
        prior = updated
        if converged:
            break
    # The EM's multiplicative updates reach 0 only in the limit: a prior below the tolerance is reported as 0.
    prior = np.where(prior < tolerance, 0.0, prior)
    prior /= prior.sum(axis=1, keepdims=True)
    return prior[0] if single else prior


def bootstrap_em(posteriors: np.ndarray, source_prior: np.ndarray, draws: int, rng: np.random.Generator) -> np.ndarray:
    """EM priors (``draws``, k) of bootstrap resamples of the particles (counts drawn multinomially)."""
    n = len(posteriors)
    counts = rng.multinomial(n, np.full(n, 1 / n), size=draws)
    step = max(1, BOOTSTRAP_CHUNK // max(1, n))
    return np.concatenate([saerens_em(posteriors, source_prior, counts[i : i + step]) for i in range(0, draws, step)])


def abundance_table(
    probabilities: np.ndarray,
    samples: np.ndarray,
    classes: list[str],
    source_prior: np.ndarray,
    settings: TrustSettings,
    seed: int,
    truth: np.ndarray | None = None,
    predictions: np.ndarray | None = None,
    recalibrated: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> pd.DataFrame:
    """Per sample and class: particles ``n``, argmax fraction, EM fraction and its bootstrap interval, true fraction.

    Parameters
    ----------
    probabilities: (n, k) calibrated probabilities under ``source_prior`` (columns in the order of ``classes``).
    samples: the sample of each particle.
    truth: true class index of each particle, or None (``true_fraction`` left empty).
    predictions: the model's predicted class index of each particle (the argmax fractions); None: the argmax of
        ``probabilities``.
    recalibrated: the probabilities and source prior of each bootstrap resample of the calibration set (the
        interval's draws take them in turn, so it holds the calibration's uncertainty too); None: the particles'
        resampling only.
    """
    recalibrated = recalibrated or [(probabilities, source_prior)]
    per_calibration = -(-settings.bootstrap // len(recalibrated))
    k = len(classes)
    predictions = probabilities.argmax(axis=1) if predictions is None else np.asarray(predictions)
    tail = (1 - settings.confidence) / 2
    rows = []
    for sample in pd.unique(samples):
        inside = np.asarray(samples == sample)
        p = probabilities[inside]
        em = saerens_em(p, source_prior)
        rng = rng_for(seed, "particles-abundance", str(sample))
        draws = np.concatenate([bootstrap_em(q[inside], prior, per_calibration, rng) for q, prior in recalibrated])[
            : settings.bootstrap
        ]
        low, high = np.quantile(draws, [tail, 1 - tail], axis=0)
        raw = np.bincount(predictions[inside], minlength=k) / inside.sum()
        true = np.bincount(truth[inside], minlength=k) / inside.sum() if truth is not None else np.full(k, np.nan)
        rows += [
            {
                "sample": sample,
                "class": name,
                "n": int(inside.sum()),
                "raw_fraction": raw[j],
                "em_fraction": em[j],
                "ci_low": low[j],
                "ci_high": high[j],
                "true_fraction": true[j],
            }
            for j, name in enumerate(classes)
        ]
    return pd.DataFrame(rows)


def sample_abundances(
    predictions: pd.DataFrame,
    validation: pd.DataFrame,
    samples: pd.Series,
    settings: TrustSettings,
    seed: int,
    labelled: bool = False,
) -> pd.DataFrame:
    """:func:`abundance_table` of a predictions table (``p_<class>`` columns, ``prediction``, and ``class`` where
    ``labelled``) grouped by ``samples``: the probabilities recalibrated by bias-corrected temperature scaling fitted
    on the ``validation`` predictions of the same model, whose class frequencies are then the source prior. The
    intervals resample the particles and, ``settings.calibration_draws`` times, the validation set (its calibration
    and class frequencies are estimates too: on a held-out FlowCam session resampling the particles alone gave
    intervals that missed the truth of 2 of 3 classes)."""
    classes, p = class_probabilities(predictions)
    val_classes, val_p = class_probabilities(validation)
    if val_classes != classes:
        raise ValueError(f"the validation predictions have classes {val_classes}, the predictions {classes}")
    val_labels = class_indices(validation["class"], classes)
    prior = np.bincount(val_labels, minlength=len(classes)) / len(val_labels)
    if np.any(prior == 0):
        missing = [c for c, f in zip(classes, prior, strict=True) if f == 0]
        raise ValueError(f"the validation set has no particle of class(es) {missing}: no source prior for them")
    scaling = TemperatureScaling(bias=True).fit(val_p, val_labels)
    log.info("bias-corrected temperature scaling: T = %.3f, biases %s", scaling.temperature_, scaling.params_[1:])
    rng = rng_for(seed, "particles-calibration-bootstrap")
    recalibrated = []
    for _ in range(settings.calibration_draws):
        rows = rng.integers(0, len(val_labels), len(val_labels))
        # A resample without some class has no source prior for it: drawn again.
        while np.bincount(val_labels[rows], minlength=len(classes)).min() == 0:
            rows = rng.integers(0, len(val_labels), len(val_labels))
        resampled_prior = np.bincount(val_labels[rows], minlength=len(classes)) / len(rows)
        recalibrated.append(
            (TemperatureScaling(bias=True).fit(val_p[rows], val_labels[rows]).predict_proba(p), resampled_prior)
        )
    return abundance_table(
        scaling.predict_proba(p),
        samples.to_numpy(),
        classes,
        prior,
        settings,
        seed,
        truth=class_indices(predictions["class"], classes) if labelled else None,
        predictions=class_indices(predictions["prediction"], classes),
        recalibrated=recalibrated or None,
    )


def test_sessions(predictions: pd.DataFrame, split: pd.DataFrame) -> pd.Series:
    """The acquisition session (``session`` of the split table) of each row of a test predictions table; a
    predicted image the split does not list is an error naming it."""
    sessions = split.set_index("path")["session"]
    missing = sorted(set(predictions["path"]) - set(sessions.index))
    if missing:
        raise ValueError(f"{len(missing)} predicted image(s) are not in the split, e.g. {missing[0]}")
    return predictions["path"].map(sessions)


def session_abundances(
    runs: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], split: pd.DataFrame, settings: TrustSettings, seed: int
) -> pd.DataFrame:
    """:func:`sample_abundances` of the test set's acquisition sessions (truth known) for each run of ``runs``
    (run name -> its test and validation predictions), one table with the ``run`` first."""
    tables = [
        sample_abundances(test, validation, test_sessions(test, split), settings, seed, labelled=True).assign(run=run)
        for run, (test, validation) in runs.items()
    ]
    table = pd.concat(tables, ignore_index=True)
    return table[["run", *[c for c in table.columns if c != "run"]]]


@dataclass
class NoveltyDetector:
    """Class means (k, d) and shared precision (d, d) of training embeddings, and the flagging threshold of the
    squared Mahalanobis distance to the nearest class mean."""

    means: np.ndarray
    precision: np.ndarray
    threshold: float

    @classmethod
    def fit(
        cls, embeddings: np.ndarray, labels: np.ndarray, held_out: np.ndarray, quantile: float, n_classes: int
    ) -> NoveltyDetector:
        """Means and pooled within-class covariance of the training ``embeddings`` (indices ``labels`` of
        ``n_classes`` classes); the threshold is the ``quantile`` of the scores of the ``held_out`` embeddings of
        known classes."""
        labels = np.asarray(labels, dtype=int)
        k = n_classes
        counts = np.bincount(labels, minlength=k)
        if np.any(counts == 0) or len(labels) <= k:
            raise ValueError(f"the novelty score needs training embeddings of every class; counts {counts.tolist()}")
        means = np.stack([embeddings[labels == c].mean(axis=0) for c in range(k)])
        centred = embeddings - means[labels]
        covariance = centred.T @ centred / (len(labels) - k)
        # A tiny ridge keeps the precision finite when embedding dimensions are (nearly) collinear.
        covariance += np.eye(len(covariance)) * 1e-6 * np.trace(covariance) / len(covariance)
        detector = cls(means, np.linalg.inv(covariance), np.inf)
        detector.threshold = float(np.quantile(detector.score(held_out), quantile))
        return detector

    def score(self, embeddings: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each embedding (n, d) to the nearest class mean."""
        embeddings = np.asarray(embeddings, dtype=float).reshape(-1, self.means.shape[1])
        distances = [np.einsum("nd,de,ne->n", x := embeddings - m, self.precision, x) for m in self.means]
        return np.min(distances, axis=0) if distances else np.zeros(0)

    def flag(self, table: pd.DataFrame, embeddings: np.ndarray) -> pd.DataFrame:
        """``table`` (one row per embedding) with its ``novelty`` score and ``novel`` (above the threshold)."""
        if len(table) != len(embeddings):
            raise ValueError(f"{len(embeddings)} embeddings for {len(table)} particles")
        scores = self.score(embeddings)
        return table.assign(novelty=scores, novel=scores > self.threshold)

    def save(self, path: str | os.PathLike[str]) -> None:
        write_arrays(path, means=self.means, precision=self.precision, threshold=np.array(self.threshold))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> NoveltyDetector:
        with np.load(path) as data:
            return cls(data["means"], data["precision"], float(data["threshold"]))


def novelty_summary(table: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group of ``by`` (columns of ``table``, which also has ``path``, ``novelty`` and ``novel``): particles,
    flagged particles, their fraction, and the file names of the most distant flagged ones (``;``-separated)."""
    rows = []
    for key, rows_of in table.groupby(by, sort=False):
        flagged = rows_of[rows_of["novel"]].sort_values("novelty", ascending=False)
        names = [PurePath(p).name for p in flagged["path"].head(NOVEL_EXAMPLES)]
        rows.append(
            {
                **dict(zip(by, key, strict=True)),
                "n": len(rows_of),
                "flagged": len(flagged),
                "fraction": len(flagged) / len(rows_of),
                "examples": ";".join(names),
            }
        )
    return pd.DataFrame(rows, columns=[*by, "n", "flagged", "fraction", "examples"])
