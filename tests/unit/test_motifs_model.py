"""Learning Rw from atom presence, SHAP contribution values and the motif rule on data with a known answer."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fingerprintml.motifs.catalogue import build_catalogue, cutout_features, feature_table, masks_to_table
from fingerprintml.motifs.demo import keggin_with_decoys
from fingerprintml.motifs.model import (
    ModelSettings,
    explain,
    learn_rw,
    save_model,
    shap_values,
    split_indices,
    train_model,
)
from fingerprintml.motifs.motif import atom_contributions, atom_table
from fingerprintml.motifs.tables import recovery

SPACE = {"learning_rate": {"low": 0.05, "high": 0.3, "prior": "log-uniform"}, "max_depth": {"low": 2, "high": 4}}
SETTINGS = ModelSettings(
    validation=0.15, test=0.15, n_calls=4, n_initial_points=3, max_estimators=300, early_stopping=20, space=SPACE
)


@pytest.fixture(scope="module")
def learned():
    """Rw falls with each 'good' atom kept and rises with each 'bad' one: atoms 0-5 good, 6-9 bad."""
    rng = np.random.default_rng(0)
    removable = np.arange(10)
    masks = rng.random((600, 10)) < 0.5
    rw = 0.6 - 0.04 * masks[:, :6].sum(axis=1) + 0.05 * masks[:, 6:].sum(axis=1) + rng.normal(0, 0.005, 600)
    features = feature_table(masks, removable)
    splits = split_indices(len(masks), 0.15, 0.15, seed=1)
    model, search, metrics = train_model(features, rw, splits, SETTINGS, seed=1, threads=1)
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


def test_settings_from_config_take_the_datasets_search_budget() -> None:
    block = {"validation": 0.1, "test": 0.2, "n_initial_points": 3, "max_estimators": 50, "early_stopping": 5}
    settings = ModelSettings.from_config({**block, "space": SPACE}, n_calls=7)
    assert settings.n_calls == 7 and settings.test == 0.2 and settings.space == SPACE


def test_rw_is_learned_from_the_catalogue_in_its_own_order_and_explained_from_the_saved_model(tmp_path) -> None:
    """The fits may come in any order (gathered shards): learn_rw matches them to the catalogue by cut-out; the
    saved model's SHAP values are those of the model in memory."""
    cluster, _ = keggin_with_decoys(2)
    catalogue = masks_to_table(build_catalogue(cluster, ["W"], 2.5, 200, np.random.default_rng(0)))
    features = cutout_features(cluster, catalogue, ["W"])
    # Rw falls with the first Keggin W kept and rises with the decoy W (atoms 12, 13).
    rw = 0.5 - 0.1 * features["atom_0"] + 0.1 * (features["atom_12"] + features["atom_13"])
    fits = pd.DataFrame({"cutout": catalogue["cutout"], "rw": rw}).sample(frac=1.0, random_state=3)
    settings = ModelSettings(
        validation=0.15, test=0.15, n_calls=2, n_initial_points=2, max_estimators=100, early_stopping=10, space=SPACE
    )
    model, _, metrics = learn_rw(cluster, catalogue, fits, removable=["W"], settings=settings, seed=1, threads=1)
    assert metrics["test"]["r2"] > 0.9
    path = tmp_path / "model" / "xgboost.json"
    save_model(model, path)
    assert json.loads(path.read_text())  # xgboost JSON, not UBJSON
    assert [p.name for p in path.parent.iterdir()] == ["xgboost.json"]
    explained_features, explained = explain(cluster, catalogue, path, removable=["W"], threads=1)
    pd.testing.assert_frame_equal(explained_features, features)
    np.testing.assert_allclose(explained.to_numpy(), shap_values(model, features).to_numpy(), atol=1e-6)
