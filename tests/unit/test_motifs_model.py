"""Learning Rw from atom presence, SHAP contribution values and the motif rule on data with a known answer."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fingerprintml.motifs.catalogue import feature_table
from fingerprintml.motifs.demo import keggin_with_decoys
from fingerprintml.motifs.model import shap_values, split_indices, train_model
from fingerprintml.motifs.motif import atom_contributions, atom_table
from fingerprintml.motifs.tables import recovery

SPACE = {"learning_rate": {"low": 0.05, "high": 0.3, "prior": "log-uniform"}, "max_depth": {"low": 2, "high": 4}}


@pytest.fixture(scope="module")
def learned():
    """Rw falls with each 'good' atom kept and rises with each 'bad' one: atoms 0-5 good, 6-9 bad."""
    rng = np.random.default_rng(0)
    removable = np.arange(10)
    masks = rng.random((600, 10)) < 0.5
    rw = 0.6 - 0.04 * masks[:, :6].sum(axis=1) + 0.05 * masks[:, 6:].sum(axis=1) + rng.normal(0, 0.005, 600)
    features = feature_table(masks, removable)
    splits = split_indices(len(masks), 0.15, 0.15, seed=1)
    model, search, metrics = train_model(features, rw, splits, SPACE, 4, 3, 300, 20, seed=1, threads=1)
    return removable, features, model, search, metrics


def test_split_is_a_partition() -> None:
    splits = split_indices(100, 0.2, 0.1, seed=3)
    joined = np.sort(np.concatenate(list(splits.values())))
    np.testing.assert_array_equal(joined, np.arange(100))
    assert len(splits["test"]) == 10 and len(splits["validation"]) == 20


def test_model_learns_rw_and_reports_the_search(learned) -> None:
    _, _, _, search, metrics = learned
    assert len(search) == 4 and search["validation_mae"].notna().all()
    assert metrics["test"]["r2"] > 0.9
    assert metrics["test"]["mae"] < 0.02


def test_acv_sign_follows_the_effect_on_rw(learned) -> None:
    removable, features, model, _, _ = learned
    contributions = atom_contributions(features, shap_values(model, features), removable)
    assert (contributions["acv"][:6] + contributions["spread"][:6] < 0).all()
    assert (contributions["acv"][6:] > 0).all()


def test_motif_rule_adds_bonded_atoms_and_recovery_scores() -> None:
    cluster, planted = keggin_with_decoys(2)
    w = np.flatnonzero(cluster.elements == "W")
    masks = np.random.default_rng(1).random((300, len(w))) < 0.5
    full = np.zeros((300, len(cluster)), dtype=bool)
    full[:, w] = masks
    features = feature_table(full, w)
    # SHAP: Keggin W (first 12) lower Rw when kept, decoys raise it.
    sign = np.where(np.arange(len(w)) < 12, -1.0, 1.0)
    shap_table = pd.DataFrame(np.where(masks, 1.0, -1.0) * sign * 0.05, columns=[f"atom_{k}" for k in w])
    shap_table["n_atoms"] = 0.0
    atoms = atom_table(cluster, features, shap_table, ["W"], 2.5, spread_factor=1.0)
    np.testing.assert_array_equal(atoms["in_motif"].to_numpy(), planted)
    scores = recovery(atoms, pd.DataFrame({"index": np.arange(len(cluster)), "planted": planted}))
    assert scores["precision_all"] == 1.0 and scores["recall_all"] == 1.0
