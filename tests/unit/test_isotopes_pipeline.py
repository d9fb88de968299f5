"""The steps the isotopes rules call (dataset tables, one run's search, its evaluation, the comparison, the user's
samples), on a small demo drawn from the class table: no mirror needed."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from fingerprintml.isotopes.data import FEATURES, LEVELS, dataset_tables, label_paths, read_paper_dataset
from fingerprintml.isotopes.demo import demo_dataset, read_class_table
from fingerprintml.isotopes.evaluate import HEADLINE, evaluate_run, predicted_paths, summarise
from fingerprintml.isotopes.figures import run_title
from fingerprintml.isotopes.metrics import hierarchical_f1
from fingerprintml.isotopes.predict import predict_file
from fingerprintml.isotopes.search import SearchSettings, cross_val_paths, cv_splits, run_search
from fingerprintml.isotopes.trust import TrustSettings

REPO = Path(__file__).resolve().parents[2]
CLASSES = REPO / "resources" / "isotopes" / "demo_classes.csv"
SEED = 7
SPACES = {
    "xgboost": {"n_estimators": {"low": 5, "high": 20}, "max_depth": {"low": 1, "high": 3}},
    "extra_trees": {"n_estimators": {"low": 10, "high": 30}, "max_depth": {"low": 2, "high": 6}},
}
RUNS = {"lcpn-xgboost": ("lcpn", "xgboost"), "flat-extra_trees": ("flat", "extra_trees")}


def test_demo_tables_follow_the_class_table():
    train, external = dataset_tables({"classes": str(CLASSES)}, SEED)
    with CLASSES.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    expected = Counter()
    for row in rows:
        if row["set"] == "train":
            expected[(row["source"], row["species"], row["route"])] += int(row["n"])
    assert Counter(map(tuple, train[LEVELS].to_numpy().tolist())) == expected
    assert len(external) == sum(int(row["n"]) for row in rows if row["set"] == "external")
    same_train, same_external = demo_dataset(read_class_table(CLASSES), SEED)
    pd.testing.assert_frame_equal(train, same_train)
    pd.testing.assert_frame_equal(external, same_external)


def test_paper_tables_are_the_nanotracer_files(paper_files):
    train, external = dataset_tables({key: str(path) for key, path in paper_files.items()}, SEED)
    expected_train, expected_external = read_paper_dataset(**{key: str(path) for key, path in paper_files.items()})
    pd.testing.assert_frame_equal(train, expected_train)
    pd.testing.assert_frame_equal(external, expected_external)
    assert (len(train), len(external)) == (113, 142)


def test_a_dataset_without_all_paper_files_is_named(tmp_path: Path):
    with pytest.raises(ValueError, match="x_test_troll"):
        dataset_tables({"x_train": "a", "y_train": "b", "x_test": "c", "y_test": "d"}, SEED)


@pytest.fixture(scope="module")
def demo():
    """A demo at a third of the class counts (all seven leaves present)."""
    return demo_dataset(read_class_table(CLASSES), SEED, scale_n=0.35)


@pytest.fixture(scope="module")
def runs(demo):
    """Search and evaluation of two runs on the small demo: run -> (points, best, loo, external, fitted)."""
    train, external = demo
    X, Y = train[FEATURES].to_numpy(dtype=float), label_paths(train)
    out = {}
    for run, (model, learner) in RUNS.items():
        settings = SearchSettings(space=SPACES[learner], n_calls=3, n_initial_points=2, seed=SEED)
        points, best = run_search(X, Y, settings, model=model, learner=learner, cv=3)
        out[run] = (points, best, *evaluate_run(train, external, best, seed=SEED, trust=TrustSettings()))
    return out


def test_run_search_keeps_the_best_point_for_the_evaluation(runs):
    for run, (points, best, *_) in runs.items():
        assert len(points) == 3
        assert f"{best['model']}-{best['learner']}" == run and best["cv"] == 3
        top = points.loc[points["hF1"].idxmax()]
        assert best["hF1"] == top["hF1"]
        assert best["params"] == {name: top[name] for name in best["params"]}
        assert type(best["params"]["n_estimators"]) is int


def test_evaluation_reproduces_the_search_score_and_predicts_the_external_set(runs, demo):
    train, external = demo
    X, Y = train[FEATURES].to_numpy(dtype=float), label_paths(train)
    for _points, best, loo, predicted_external, fitted, report in runs.values():
        # The same folds and seeded fits as the search's best point: the same out-of-fold hF1 and paths.
        assert hierarchical_f1(label_paths(loo), predicted_paths(loo)) == pytest.approx(best["hF1"], abs=1e-12)
        paths = cross_val_paths(
            X,
            Y,
            cv_splits(Y, best["cv"], SEED),
            model=best["model"],
            learner=best["learner"],
            params=best["params"],
            seed=SEED,
        )
        np.testing.assert_array_equal(predicted_paths(loo), paths)
        pd.testing.assert_frame_equal(loo[train.columns], train)
        assert len(predicted_external) == len(external)
        natural = predicted_external["p_Natural"]
        assert natural.between(0, 1).all()
        assert set(fitted) == {"model", "learner", "params", "estimator", "trust"}
        # Out-of-fold source probabilities add up to one, and the predicted source is the most probable one.
        sources = loo[["p_Natural", "p_Incidental", "p_Engineered"]].to_numpy()
        np.testing.assert_allclose(sources.sum(axis=1), 1.0, atol=1e-6)
        for table in (loo, predicted_external):
            assert {"domain_score", "in_domain", "cal_prob_source", "set_source", "backed_off_path"} <= set(table)
            assert (table["in_domain"] == (table["domain_score"] >= 0)).all()
            # A backed-off path is the predicted path cut at some level.
            for row in table.itertuples():
                full = ":".join(p for p in (row.pred_source, row.pred_species, row.pred_route) if p)
                assert row.backed_off_path == "MgP" or full.startswith(row.backed_off_path)
        assert set(report["levels"]) == set(LEVELS)
        for entry in report["levels"].values():
            assert 0 <= entry["ece_before"] <= 1 and 0 <= entry["ece_after"] <= 1 and 0 < entry["coverage"] <= 1


def test_summary_ranks_the_runs_against_an_independent_baseline(runs, demo):
    train, _ = demo

    def each(index):
        return {run: values[index] for run, values in runs.items()}

    # Nested predictions (index and predicted path) equal to the out-of-fold ones: the nested hF1 is the CV hF1.
    nested = {
        run: pd.DataFrame({"index": range(len(loo)), **{level: loo[f"pred_{level}"] for level in LEVELS}})
        for run, loo in each(2).items()
    }
    summary = summarise(train, loo=each(2), nested=nested, external=each(3), points=each(0), trust=each(5))
    table = summary.table
    assert sorted(table["model"] + "-" + table["learner"]) == sorted([*RUNS, "baseline-majority leaf"])
    assert table["hF1"].is_monotonic_decreasing
    for run, (_, best, *_rest) in runs.items():
        model, learner = RUNS[run]
        row = table[(table["model"] == model) & (table["learner"] == learner)].iloc[0]
        assert row["hF1"] == pytest.approx(best["hF1"]) and row["nested_hF1"] == pytest.approx(best["hF1"])
    # The baseline: every sample predicted as the most frequent training leaf, scored here without the package.
    Y = label_paths(train)
    leaf = Counter(map(tuple, Y.tolist())).most_common(1)[0][0]
    baseline = table[table["model"] == "baseline"].iloc[0]
    assert baseline["hF1"] == pytest.approx(hierarchical_f1(Y, np.tile(np.array(leaf), (len(Y), 1))))
    ranked = table[table["model"] != "baseline"].iloc[0]
    assert summary.best == f"{ranked['model']}-{ranked['learner']}"
    assert set(summary.confusion["run"]) == {summary.best}
    assert list(summary.headline.columns) == list(HEADLINE.values())
    assert list(summary.levels.columns) == ["model", "learner", "acc_source", "acc_species", "acc_route"]
    assert set(summary.search_log["run"]) == set(RUNS)
    assert len(summary.calibration) == len(summary.conformal) == len(RUNS) * len(LEVELS)
    domain = summary.domain.set_index(["run", "part"])
    for run in RUNS:
        assert domain.loc[(run, "in"), "n"] + domain.loc[(run, "out"), "n"] == domain.loc[(run, "all"), "n"]
        in_domain = each(3)[run]["in_domain"]
        assert domain.loc[(run, "in"), "n"] == in_domain.sum()


def test_predict_file_uses_the_chosen_or_the_best_run(runs, tmp_path: Path):
    models = {}
    for run, (*_, fitted, _report) in runs.items():
        models[run] = str(tmp_path / f"{run}.joblib")
        joblib.dump(fitted, models[run])
    samples = tmp_path / "samples.csv"
    samples.write_text("sample,d18O,d56Fe\nA,-5.5,0.18\nB,,0.2\n")
    table = pd.DataFrame(
        {"model": ["baseline", "flat", "lcpn"], "learner": ["majority leaf", "extra_trees", "xgboost"]}
    )
    mc = {"sd": {"d18O": 0.1, "d56Fe": 0.03}, "draws": 20, "seed": SEED}
    predictions, rejected = predict_file(samples, models, table, **mc)
    assert set(predictions["model"]) == {"flat-extra_trees"} and list(predictions["sample"]) == ["A"]
    assert list(rejected["line"]) == [3]
    assert {"in_domain", "set_source", "backed_off_path", "mc_path_change", "mc_prob_source"} <= set(predictions)
    assert predictions[["d18O_sd", "d56Fe_sd"]].to_numpy().tolist() == [[0.1, 0.03]]
    chosen, _ = predict_file(samples, models, table, "lcpn-xgboost", **mc)
    assert set(chosen["model"]) == {"lcpn-xgboost"}
    with pytest.raises(ValueError, match="lcpl-svc"):
        predict_file(samples, models, table, "lcpl-svc", **mc)


def test_run_titles():
    assert run_title("lcpn", "extra_trees") == "LCPN + extra trees"
    assert run_title("selective", "per_node") == "selective + per node"
    assert run_title("flat", "svc") == "flat + svc"
