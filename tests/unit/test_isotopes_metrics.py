"""Hierarchical precision/recall/F1 against hiclass's own metric, the paper's baseline, and per-level scores."""

from __future__ import annotations

import numpy as np
import pytest
from hiclass.metrics import f1 as hiclass_f1
from hiclass.metrics import precision as hiclass_precision
from hiclass.metrics import recall as hiclass_recall

from fingerprintml.isotopes.data import LEAVES, LEVELS
from fingerprintml.isotopes.metrics import hierarchical_f1, hierarchical_scores, level_accuracy, level_confusion


def original_labels(paths: np.ndarray) -> np.ndarray:
    """NanoTracer's hiclass label layout: root, then full dotted node names, padded with empty strings."""
    rows = []
    for path in paths:
        row, prefix = ["MgP"], "MgP"
        for node in path:
            if node:
                prefix = f"{prefix}.{node}"
                row.append(prefix)
        rows.append(row + [""] * (len(LEVELS) + 1 - len(row)))
    return np.array(rows, dtype=object)


def all_nodes() -> list[tuple[str, str, str]]:
    """Every node of the hierarchy as a padded path (leaves and their prefixes)."""
    nodes = set()
    for leaf in LEAVES:
        for depth in range(len(LEVELS)):
            if leaf[depth]:
                nodes.add(leaf[: depth + 1] + ("",) * (len(LEVELS) - depth - 1))
    return sorted(nodes)


HAND_TRUE = np.array(
    [
        ["Engineered", "Mag", "EP"],
        ["Natural", "", ""],
        ["Engineered", "Mag", "ES"],
        ["Incidental", "", ""],
        ["Engineered", "Mgh", "ES"],
        ["Engineered", "Mgh", "ES"],
    ]
)
HAND_PRED = np.array(
    [
        ["Engineered", "Mgh", "EP"],
        ["Engineered", "Mag", ""],
        ["Engineered", "Mag", ""],
        ["Incidental", "", ""],
        ["Engineered", "Mag", "ES"],
        ["Engineered", "Mgh", "ES"],
    ]
)


def test_original_scores_equal_hiclass_metrics(train_xy):
    """NanoTracer scores with hiclass.metrics on its 4-column label arrays; the original protocol must agree."""
    _, truth = train_xy
    nodes = all_nodes()
    assert len(nodes) == 10
    rng = np.random.default_rng(0)
    pred = np.array([nodes[i] for i in rng.integers(0, len(nodes), len(truth))])
    pred[:10] = truth[:10]
    true_labels, pred_labels = original_labels(truth), original_labels(pred)
    scores = hierarchical_scores(truth, pred, original=True)
    assert scores["hF1"] == pytest.approx(hiclass_f1(true_labels, pred_labels), abs=1e-12)
    assert scores["hP"] == pytest.approx(hiclass_precision(true_labels, pred_labels), abs=1e-12)
    assert scores["hR"] == pytest.approx(hiclass_recall(true_labels, pred_labels), abs=1e-12)
    assert 0 < scores["hF1"] < 1


def test_majority_leaf_baseline_agrees_with_hiclass(train_xy):
    _, truth = train_xy
    leaves, counts = np.unique(["|".join(row) for row in truth], return_counts=True)
    majority = leaves[np.argmax(counts)].split("|")
    assert majority == ["Engineered", "Mag", "EP"]
    pred = np.tile(majority, (len(truth), 1))
    expected = hiclass_f1(original_labels(truth), original_labels(pred))
    assert hierarchical_f1(truth, pred, original=True) == pytest.approx(expected, abs=1e-12)
    # Without the root every sample loses a node it gets right for free.
    assert hierarchical_f1(truth, pred, original=False) < expected


def test_perfect_prediction_scores_one(train_xy):
    _, truth = train_xy
    for original in (True, False):
        assert hierarchical_scores(truth, truth.copy(), original) == {"hP": 1.0, "hR": 1.0, "hF1": 1.0}


def test_scores_on_hand_example():
    truth = np.array([["Engineered", "Mag", "EP"], ["Engineered", "Mag", "ES"], ["Natural", "", ""]])
    pred = np.array([["Engineered", "Mgh", "EP"], ["Engineered", "Mag", ""], ["Engineered", "Mag", "EA"]])
    # Below the root: shared nodes 1 + 2 + 0 = 3, predicted nodes 3 + 2 + 3 = 8, true nodes 3 + 3 + 1 = 7.
    scores = hierarchical_scores(truth, pred, original=False)
    assert scores == pytest.approx({"hP": 3 / 8, "hR": 3 / 7, "hF1": 2 * 3 / (8 + 7)})
    # The root adds one shared, predicted and true node per sample: 6 / 11 and 6 / 10.
    with_root = hierarchical_scores(truth, pred, original=True)
    assert with_root == pytest.approx({"hP": 6 / 11, "hR": 6 / 10, "hF1": 2 * 6 / (11 + 10)})


def test_level_accuracy_on_hand_example():
    accuracy = level_accuracy(HAND_TRUE, HAND_PRED)
    assert accuracy == pytest.approx({"source": 5 / 6, "species": 2 / 4, "route": 1 / 4})


def test_level_accuracy_nan_when_no_sample_reaches_level():
    truth = np.array([["Natural", "", ""], ["Incidental", "", ""]])
    accuracy = level_accuracy(truth, truth)
    assert accuracy["source"] == 1.0
    assert np.isnan(accuracy["species"])
    assert np.isnan(accuracy["route"])


def test_level_confusion_on_hand_example():
    table = level_confusion(HAND_TRUE, HAND_PRED)
    assert list(table.columns) == ["level", "true", "predicted", "count"]
    totals = table.groupby("level")["count"].sum().to_dict()
    assert totals == {"source": 6, "species": 4, "route": 4}
    counts = {(r.level, r.true, r.predicted): r.count for r in table.itertuples()}
    assert counts[("source", "Natural", "Engineered")] == 1
    assert counts[("source", "Engineered", "Engineered")] == 4
    assert counts[("species", "Engineered:Mag", "Engineered:Mgh")] == 1
    assert counts[("species", "Engineered:Mgh", "Engineered:Mag")] == 1
    assert counts[("route", "Engineered:Mag:ES", "(none)")] == 1
    assert counts[("route", "Engineered:Mgh:ES", "Engineered:Mag:ES")] == 1
    assert counts[("route", "Engineered:Mgh:ES", "Engineered:Mgh:ES")] == 1
    assert counts[("route", "Engineered:Mag:EP", "Engineered:Mgh:EP")] == 1
