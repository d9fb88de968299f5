"""The selective top-down model (learner and hyperparameters per parent node) and its node-by-node search,
on the NanoTracer training set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fingerprintml.isotopes.data import LEAVES, LEVELS
from fingerprintml.isotopes.metrics import hierarchical_f1
from fingerprintml.isotopes.models import (
    compose_paths,
    fit_model,
    node_probabilities,
    parent_nodes,
    predict_paths,
)
from fingerprintml.isotopes.search import (
    SearchSettings,
    bayes_search,
    best_params,
    best_score,
    cross_val_paths,
    cv_splits,
    node_cross_val_predictions,
    search_log,
)

PARENTS = ["MgP", "Engineered", "Engineered:Mag", "Engineered:Mgh"]
MIXED = {
    "MgP": {"learner": "xgboost", "params": {"n_estimators": 20, "max_depth": 3}},
    "Engineered": {"learner": "svc", "params": {"C": 3.0, "gamma": 0.5}},
    "Engineered:Mag": {"learner": "extra_trees", "params": {"n_estimators": 40, "max_depth": 5}},
    "Engineered:Mgh": {"learner": "svc", "params": {"C": 1.0, "gamma": 1.0}},
}
SPACES = {
    "svc": {"C": {"low": 0.1, "high": 100.0, "prior": "log-uniform"}, "gamma": {"low": 0.01, "high": 10.0}},
    "extra_trees": {"n_estimators": {"low": 10, "high": 40}, "max_depth": {"low": 2, "high": 8}},
}
VALID_PATHS = {tuple(leaf) for leaf in LEAVES}


def test_parent_nodes_are_listed_top_down(train_xy):
    _, Y = train_xy
    assert parent_nodes(Y) == PARENTS


def test_compose_paths_stops_at_leaves_and_undecided_nodes():
    children = {"MgP": np.array(["Natural", "Engineered", "Engineered"]), "Engineered": np.array(["Mag", "Mgh", "Mag"])}
    children["Engineered:Mag"] = np.array(["ES", "EA", "EP"])
    paths = compose_paths(children, 3)
    assert paths.tolist() == [["Natural", "", ""], ["Engineered", "Mgh", ""], ["Engineered", "Mag", "EP"]]


@pytest.fixture(scope="module")
def mixed(train_xy):
    X, Y = train_xy
    return fit_model("selective", "per_node", MIXED, 0, X, Y)


def test_mixed_learners_predict_paths_of_the_hierarchy(mixed, train_xy):
    X, Y = train_xy
    paths = predict_paths(mixed, X)
    assert {tuple(row) for row in paths.tolist()} <= VALID_PATHS
    assert type(mixed.classifiers_["Engineered"].estimator_).__name__ == "Pipeline"  # the SVC node
    assert hierarchical_f1(Y, paths) > 0.75


def test_node_probabilities_add_up_and_match_the_prediction(mixed, train_xy):
    X, _ = train_xy
    proba = node_probabilities(mixed, X)
    assert len(proba) == 10
    np.testing.assert_allclose(proba["Natural"] + proba["Incidental"] + proba["Engineered"], 1.0, atol=1e-9)
    np.testing.assert_allclose(proba["Engineered:Mag"] + proba["Engineered:Mgh"], proba["Engineered"], atol=1e-9)
    routes = [f"Engineered:Mag:{r}" for r in ("EA", "EP", "ES")]
    np.testing.assert_allclose(sum(proba[r] for r in routes), proba["Engineered:Mag"], atol=1e-9)
    sources = np.array(["Engineered", "Incidental", "Natural"])
    top = sources[np.argmax(np.column_stack([proba[s] for s in sources]), axis=1)]
    assert (top == predict_paths(mixed, X)[:, 0]).all()


def test_one_learner_everywhere_is_lcppn(train_xy):
    """With the same learner at every node the selective model is hiclass's LCPPN."""
    X, Y = train_xy
    params = {"n_estimators": 30, "max_depth": 3, "learning_rate": 0.2}
    same = {node: {"learner": "xgboost", "params": params} for node in PARENTS}
    selective = predict_paths(fit_model("selective", "per_node", same, 0, X, Y), X)
    lcppn = predict_paths(fit_model("lcppn", "xgboost", params, 0, X, Y), X)
    assert (selective == lcppn).all()


def test_a_node_without_a_choice_is_named(train_xy):
    X, Y = train_xy
    with pytest.raises(ValueError, match="Engineered:Mgh"):
        fit_model("selective", "per_node", {k: v for k, v in MIXED.items() if k != "Engineered:Mgh"}, 0, X, Y)


@pytest.mark.parametrize("cv", [5, "loo"])
def test_node_predictions_compose_to_the_models_cross_validated_paths(train_xy, cv):
    """The search's shortcut (each node cross-validated alone) gives the whole model's out-of-fold paths."""
    X, Y = train_xy
    splits = cv_splits(Y, cv, 3)
    children = {node: node_cross_val_predictions(X, Y, splits, node, choice, seed=0) for node, choice in MIXED.items()}
    whole = cross_val_paths(X, Y, splits, model="selective", learner="per_node", params=MIXED, seed=0)
    assert (compose_paths(children, len(Y), len(LEVELS)) == whole).all()


@pytest.fixture(scope="module")
def search(train_xy):
    X, Y = train_xy
    splits = cv_splits(Y, 3, 0)
    settings = SearchSettings(space=SPACES, n_calls=3, n_initial_points=2, seed=1)
    points = bayes_search(X, Y, splits, settings, model="selective", learner="per_node")
    return points, splits


def test_selective_search_covers_every_node_and_learner(search):
    points, _ = search
    assert len(points) == len(PARENTS) * len(SPACES) * 3
    assert points["call"].tolist() == list(range(1, len(points) + 1))
    assert list(dict.fromkeys(points["node"])) == PARENTS
    assert (points.groupby("node", sort=False)["learner"].value_counts() == 3).all()
    assert points.loc[points["learner"] == "svc", "n_estimators"].isna().all()
    # Deeper nodes add levels to the paths: the score rises from the source level to complete paths.
    by_node = points.groupby("node", sort=False)["hF1"].max()
    assert by_node["MgP"] < by_node["Engineered"] < by_node["Engineered:Mgh"]


def test_selective_choices_reproduce_the_search_score(search, train_xy):
    X, Y = train_xy
    points, splits = search
    choices = best_params(points, SPACES)
    assert list(choices) == PARENTS
    for node, choice in choices.items():
        rows = points[points["node"] == node]
        best = rows.loc[rows["hF1"].idxmax()]
        assert choice["learner"] == best["learner"]
        space = SPACES[choice["learner"]]
        assert set(choice["params"]) == set(space)
        for name, value in choice["params"].items():
            assert type(value) is (int if isinstance(space[name]["low"], int) else float)
            assert value == best[name]
    paths = cross_val_paths(X, Y, splits, model="selective", learner="per_node", params=choices, seed=1)
    assert hierarchical_f1(Y, paths) == pytest.approx(best_score(points), abs=1e-12)


def test_search_log_names_node_and_learner_of_every_point(search):
    points, _ = search
    single = pd.DataFrame({"call": [1, 2], "hF1": [0.7, 0.8], "hF1_no_root": [0.6, 0.7], "best_hF1": [0.7, 0.8]})
    single = single.assign(seconds=0.1, C=[1.0, 2.0], gamma=[0.1, 0.2])
    log = search_log({"selective-per_node": points, "flat-svc": single})
    flat = log[log["run"] == "flat-svc"]
    assert len(flat) == 4 and set(flat["node"]) == {"all"} and set(flat["learner"]) == {"svc"}
    selective = log[log["run"] == "selective-per_node"]
    # Each call logs only its own learner's parameters: two for svc, two for extra_trees.
    assert len(selective) == 2 * len(points)
    svc = selective[selective["learner"] == "svc"]
    assert set(svc["parameter"]) == {"C", "gamma"} and svc["value"].notna().all()
    assert list(dict.fromkeys(selective.sort_values("call")["node"])) == PARENTS
