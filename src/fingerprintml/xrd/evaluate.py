"""Accuracy of the identifier: top-k on held-out augmentations, a harder set, augmentation strength, prototypes."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from fingerprintml.seeds import rng_for
from fingerprintml.xrd.augment import augmented_set, clean_pattern, scaled_settings
from fingerprintml.xrd.model import Identifier
from fingerprintml.xrd.patterns import Grid, Preprocessing, crop_ranges, network_inputs
from fingerprintml.xrd.reflections import Reflections
from fingerprintml.xrd.splits import held_out_phases
from fingerprintml.xrd.train import embeddings, predict_logits

log = logging.getLogger(__name__)

METRIC_COLUMNS = ["set", "split", "method", "n", "metric", "value"]
# Held-out patterns shown with their five best candidates in the examples figure.
EXAMPLE_CANDIDATES = 5


@dataclass(frozen=True)
class EvaluationSettings:
    """The evaluation protocol's sizes (``xrd.evaluation``)."""

    test_copies: int
    hard_strength: float
    hard_copies: int
    hard_mixture_fraction: float
    strengths: tuple[float, ...]
    strength_copies: int
    structure_split_fraction: float
    examples: int

    @classmethod
    def from_config(cls, evaluation: Mapping[str, Any]) -> EvaluationSettings:
        hard = evaluation["hard"]
        return cls(
            test_copies=int(evaluation["test_copies"]),
            hard_strength=float(hard["strength"]),
            hard_copies=int(hard["copies"]),
            hard_mixture_fraction=float(hard["mixture_fraction"]),
            strengths=tuple(float(s) for s in evaluation["strengths"]),
            strength_copies=int(evaluation["strength_copies"]),
            structure_split_fraction=float(evaluation["structure_split_fraction"]),
            examples=int(evaluation["examples"]),
        )


@dataclass
class Evaluation:
    """What the evaluation writes: the metrics table, accuracy against augmentation strength, the examples' arrays."""

    metrics: pd.DataFrame
    strength: pd.DataFrame
    examples: dict[str, np.ndarray]


def top_k_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of rows whose label is among the ``k`` highest scores."""
    top = np.argsort(-scores, axis=1)[:, :k]
    return float((top == labels[:, None]).any(axis=1).mean())


def prototype_scores(query: np.ndarray, prototypes: np.ndarray) -> np.ndarray:
    """Cosine similarity of L2-normalised query embeddings to L2-normalised class prototypes."""
    norm = prototypes / np.linalg.norm(prototypes, axis=1, keepdims=True)
    return query @ norm.T


def class_prototypes(embedding: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Mean embedding per class (classes without rows get zeros)."""
    sums = np.zeros((n_classes, embedding.shape[1]))
    np.add.at(sums, labels, embedding)
    counts = np.bincount(labels, minlength=n_classes)[:, None]
    return sums / np.maximum(counts, 1)


def accuracy_rows(name: str, split: str, method: str, scores: np.ndarray, labels: np.ndarray) -> list[dict]:
    """Top-1 and top-5 rows of the metrics table; a top-k is left out when the library has no more than k phases
    (any k candidates include the truth: 1.0 whatever the model)."""
    return [
        {"set": name, "split": split, "method": method, "n": len(labels), "metric": f"top{k}", "value": value}
        for k in (1, 5)
        if k < scores.shape[1]
        for value in [top_k_accuracy(scores, labels, k)]
    ]


def metrics_frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def evaluate_identifier(
    library: list[Reflections],
    model: Identifier,
    device: torch.device,
    *,
    grid: Grid,
    wavelength: float,
    augmentation: dict[str, Any],
    preprocessing: Preprocessing,
    settings: EvaluationSettings,
    seed: int,
    threads: int = 1,
    structure_model: Identifier | None = None,
) -> Evaluation:
    """The evaluation protocol of a model trained on every phase of ``library`` (the split by augmented copy).

    Top-1 and top-5 by the classifier and by the nearest clean-pattern prototype in embedding space on held-out
    augmentations (seed streams training never uses) over the whole grid, on the same patterns measured over
    partial ranges (every one cut at both ends, as ``preprocessing`` cuts training copies), on a harder set
    (stronger augmentations, two-phase mixtures), top-k against the augmentation strength, and, with
    ``structure_model`` (trained without the held-out fraction of phases), retrieval of the phases it never saw
    among all prototypes. Every pattern is preprocessed as a measured query is. Examples: a seeded pick of
    held-out patterns with their five best candidates and those candidates' clean patterns.
    """
    n = len(library)
    if n <= 5:
        log.warning("top-5 not reported: with %d phases any 5 candidates include the right one", n)
    fwhm = float(np.mean(augmentation["profile"]["instrument_fwhm"]))
    references = network_inputs(
        np.stack([clean_pattern(refl, grid, wavelength, fwhm) for refl in library]), grid, preprocessing
    )
    prototypes = embeddings(model, references, device)

    def scored(name: str, augmentation_settings: dict[str, Any], copies: int, mixture: float = 0.0):
        labels = np.repeat(np.arange(n), copies)
        rng = rng_for(seed, "xrd", "test", name)
        raw = augmented_set(
            library, labels, grid, wavelength, augmentation_settings, rng, mixture_fraction=mixture, threads=threads
        )
        x = network_inputs(raw, grid, preprocessing)
        return raw, x, labels, predict_logits(model, x, device), embeddings(model, x, device)

    test_raw, test_x, test_y, test_scores, test_embedding = scored("held-out", augmentation, settings.test_copies)
    rows = accuracy_rows("held-out augmentations", "copy", "classifier", test_scores, test_y)
    rows += accuracy_rows(
        "held-out augmentations", "copy", "prototype", prototype_scores(test_embedding, prototypes), test_y
    )
    every_copy_cut = dataclasses.replace(preprocessing, crop_fraction=1.0)
    ranges = crop_ranges(len(test_y), grid, every_copy_cut, rng_for(seed, "xrd", "test", "partial-range"))
    partial_x = network_inputs(test_raw, grid, preprocessing, ranges)
    rows += accuracy_rows("partial range", "copy", "classifier", predict_logits(model, partial_x, device), test_y)
    hard = scaled_settings(augmentation, settings.hard_strength)
    _, _, hard_y, hard_scores, hard_embedding = scored(
        "hard", hard, settings.hard_copies, settings.hard_mixture_fraction
    )
    rows += accuracy_rows("hard", "copy", "classifier", hard_scores, hard_y)
    rows += accuracy_rows("hard", "copy", "prototype", prototype_scores(hard_embedding, prototypes), hard_y)
    strength_rows = []
    for strength in settings.strengths:
        _, _, y, scores, _ = scored(
            f"strength-{strength}", scaled_settings(augmentation, strength), settings.strength_copies
        )
        strength_rows += [
            {"strength": strength, "metric": f"top{k}", "value": top_k_accuracy(scores, y, k)} for k in (1, 5) if k < n
        ]
    if structure_model is not None:
        unseen = held_out_phases(n, settings.structure_split_fraction, seed)
        gallery = embeddings(structure_model, references, device)
        labels = np.repeat(unseen, settings.test_copies)
        rng = rng_for(seed, "xrd", "test", "unseen")
        x = network_inputs(
            augmented_set(library, labels, grid, wavelength, augmentation, rng, threads=threads), grid, preprocessing
        )
        scores = prototype_scores(embeddings(structure_model, x, device), gallery)
        rows += accuracy_rows("held-out structures", "structure", "prototype", scores, labels)
        log.info("structure split: %d unseen phases retrieved among %d", len(unseen), n)
    pick = rng_for(seed, "xrd", "examples").choice(len(test_y), settings.examples, replace=False)
    top = np.argsort(-test_scores[pick], axis=1)[:, :EXAMPLE_CANDIDATES]
    examples = {
        "two_theta": grid.two_theta,
        "patterns": test_x[pick],
        "labels": test_y[pick],
        "top5": top,
        "scores": np.take_along_axis(test_scores[pick], top, axis=1),
        "references": references[top],
    }
    return Evaluation(
        metrics_frame(rows), pd.DataFrame(strength_rows, columns=["strength", "metric", "value"]), examples
    )
