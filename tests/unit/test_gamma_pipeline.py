"""The gamma workflow's steps in the package: the binary score table, training, metrics, rejects, the spectra drawn,
settings from config and the atomic array files."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import yaml

from fingerprintml.gamma.figures import spectra_to_draw
from fingerprintml.gamma.metrics import SCORE_COLUMNS, binary_metrics, probabilities_by_method, score_table
from fingerprintml.gamma.pipeline import (
    TrainingSettings,
    evaluate,
    features,
    preprocess_split,
    rejects_by_split,
    train_binary,
    train_multilabel,
    write_models,
)
from fingerprintml.gamma.preprocess import Binned, PreprocessSettings
from fingerprintml.gamma.sigma import reference
from fingerprintml.gamma.spectrum import XGD_CALIBRATION, Spectrum, write_sps

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())["gamma"]
MODELS = {"random_forest": {"trees": 20}, "decision_tree": {"max_depth": 3}, "logistic_regression": {"C": 1.0}}


def test_score_table_round_trips_through_binary_metrics() -> None:
    files = np.array(["a", "b", "c", "d"])
    truth = np.array([1, 1, 0, 0])
    scores = pd.concat(
        [
            score_table(files, truth, "m1", np.array([0.9, 0.2, 0.1, 0.7]), np.array([1, 0, 0, 1])),
            score_table(files, truth, "m0", np.array([9.0, 8.0, 1.0, 0.0]), np.array([True, True, False, False])),
        ]
    )
    assert list(scores.columns) == SCORE_COLUMNS
    binary, confusion = binary_metrics(scores)
    assert list(binary["method"]) == ["m1", "m0"]  # the table's order, not sorted
    m1 = binary.set_index("method").loc["m1"]
    # m1: tp a, fn b, tn c, fp d.
    assert (m1["accuracy"], m1["precision"], m1["recall"], m1["n"]) == (0.5, 0.5, 0.5, 4)
    assert binary.set_index("method").loc["m0", "f1"] == 1.0
    counts = confusion[confusion["method"] == "m1"].set_index(["true", "predicted"])["count"].to_dict()
    assert counts == {(0, 0): 1, (0, 1): 1, (1, 0): 1, (1, 1): 1}
    with pytest.raises(ValueError, match=r"lacks the columns \['predicted'\]"):
        binary_metrics(scores.drop(columns="predicted"))


def synthetic(n: int, seed: int) -> tuple[np.ndarray, pd.DataFrame]:
    """Features showing 2 nuclide labels (mixtures and background) with noise, and their label table."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, (n, 2))
    x = np.repeat(y, 3, axis=1) * 2.0 + rng.normal(0, 0.5, (n, 6))
    labels = pd.DataFrame(y, columns=["A-1", "B-2"])
    labels.insert(0, "has_source", (y.sum(axis=1) > 0).astype(int))
    labels.insert(0, "file", [f"s{seed}_{i}.sps" for i in range(n)])
    return x, labels


def test_train_binary_scores_every_method_and_the_sigma_methods() -> None:
    x_train, train = synthetic(200, 0)
    x_test, test = synthetic(40, 1)
    settings = TrainingSettings(methods=("decision_tree", "logistic_regression"), models=MODELS, scaling="none", seed=0)
    # Test spectra: 10 bins of background rate 1/s, the ones with a source 20/s more in bin 3.
    live = np.full(len(test), 100.0)
    counts = np.full((len(test), 10), 100.0)
    counts[:, 3] += 2000.0 * test["has_source"].to_numpy()
    binned = Binned(counts, live, live, np.full(len(test), 10.0), test["file"].to_numpy(), np.full(len(test), ""))
    windows = np.zeros((10, 1))
    windows[3] = 1.0
    rng = np.random.default_rng(2)
    ref = reference(rng.poisson(100.0, (20, 10)).astype(float), np.full(20, 100.0), windows)
    models, scores = train_binary(x_train, train["has_source"].to_numpy(), x_test, test, settings, (binned, ref))
    assert sorted(models) == ["decision_tree", "logistic_regression"]
    assert list(dict.fromkeys(scores["method"])) == [
        "decision_tree",
        "logistic_regression",
        "sigma_total",
        "sigma_window",
    ]
    assert len(scores) == 4 * len(test)
    sigma = scores[scores["method"] == "sigma_window"]
    assert (sigma["predicted"] == (sigma["score"] > settings.k_window)).all()
    assert (sigma["predicted"] == sigma["has_source"]).all()
    learned = scores[scores["method"] == "logistic_regression"]
    assert (learned["predicted"] == (learned["score"] >= 0.5)).all()
    assert (learned["predicted"] == learned["has_source"]).mean() > 0.9
    without_sigma = train_binary(x_train, train["has_source"].to_numpy(), x_test, test, settings)[1]
    assert set(without_sigma["method"]) == {"decision_tree", "logistic_regression"}


def test_multilabel_training_and_evaluation_against_the_labels() -> None:
    x_train, train = synthetic(300, 3)
    x_test, test = synthetic(60, 4)
    settings = TrainingSettings(methods=("logistic_regression",), models=MODELS, scaling="standard", seed=0)
    models, probabilities = train_multilabel(x_train, train, x_test, test, ["A-1", "B-2"], settings)
    assert list(probabilities.columns) == ["file", "method", "p_A-1", "p_B-2"]
    scores = score_table(test["file"], test["has_source"], "perfect", test["has_source"], test["has_source"])
    # Shuffled rows: the metrics align the probabilities with the labels by file.
    tables = evaluate(scores, probabilities.sample(frac=1, random_state=0), test, ["A-1", "B-2"], 0.5)
    assert tables["binary"].set_index("method").loc["perfect", "accuracy"] == 1.0
    expected = (models["logistic_regression"].predict(x_test) == test[["A-1", "B-2"]].to_numpy()).all(axis=1).mean()
    assert tables["multilabel"]["exact_match"].item() == pytest.approx(expected) and expected > 0.9
    assert list(tables["per_nuclide"]["nuclide"]) == ["A-1", "B-2"]


def test_probabilities_by_method_follow_the_requested_file_order() -> None:
    table = pd.DataFrame({"file": ["x", "y", "x", "y"], "method": ["b", "b", "a", "a"], "p_N-1": [0.1, 0.2, 0.3, 0.4]})
    by_method = probabilities_by_method(table, pd.Index(["y", "x"]), ["N-1"])
    assert list(by_method) == ["b", "a"]
    assert by_method["a"].ravel().tolist() == [0.4, 0.3]


def test_rejects_by_split_label_each_table() -> None:
    train = pd.DataFrame({"file": ["a"], "problem": ["truncated"], "action": ["skipped"]})
    empty = pd.DataFrame(columns=["file", "problem", "action"])
    table = rejects_by_split({"train": train, "test": empty, "query": train})
    assert table["split"].tolist() == ["train", "query"]


def test_spectra_to_draw_shows_each_combination_first_background_first() -> None:
    labels = pd.DataFrame(
        {
            "file": ["1.sps", "2.sps", "3.sps", "4.sps", "5.sps", "6.sps"],
            "has_source": [1, 1, 0, 1, 0, 1],
            "A-1": [1, 1, 0, 1, 0, 0],
            "B-2": [0, 0, 0, 1, 0, 1],
        }
    )
    drawn = spectra_to_draw(labels, ["A-1", "B-2"], None)
    assert drawn.to_dict() == {
        "3.sps": "",
        "1.sps": "A-1",
        "4.sps": "A-1+B-2",
        "6.sps": "B-2",
        "2.sps": "A-1",
        "5.sps": "",
    }
    assert list(drawn.index) == ["3.sps", "1.sps", "4.sps", "6.sps", "2.sps", "5.sps"]
    assert list(spectra_to_draw(labels, ["A-1", "B-2"], 2).index) == ["3.sps", "1.sps"]


def test_preprocess_settings_from_config_and_the_split_read(tmp_path: Path) -> None:
    settings = PreprocessSettings.from_config(CONFIG["preprocess"])
    assert settings.cap_kev == CONFIG["preprocess"]["cap_kev"]
    assert settings.default_calibration == tuple(CONFIG["preprocess"]["default_calibration"])
    for folder in ("srcs", "bkgs", "test"):
        (tmp_path / folder).mkdir()
    counts = np.full(64, 10)
    for path in [tmp_path / "srcs/Cs137_a.sps", tmp_path / "bkgs/room.sps", tmp_path / "test/Co60_b.sps"]:
        write_sps(Spectrum(counts, 5.0, 5.0, 10.0, XGD_CALIBRATION, path.name), path)
    small = PreprocessSettings(cap_kev=80, smoothing_window=5)
    binned, rates, labels, rejects = preprocess_split(tmp_path, "train", ["Cs-137", "Co-60"], small)
    assert list(labels["file"]) == ["Cs137_a.sps", "room.sps"] and list(labels["has_source"]) == [1, 0]
    assert rates.shape == (2, 80) and rejects.empty
    # 10 counts per channel of 1.318 keV from 0.125 keV; the 80 keV cap keeps (80 - 0.125) / 1.318 channels.
    kept = 10 * (80 - XGD_CALIBRATION[1]) / XGD_CALIBRATION[0]
    assert binned.counts.sum(axis=1) == pytest.approx([kept, kept])


def test_features_subtract_the_background_rate_first() -> None:
    rates = np.arange(20.0).reshape(2, 10)
    settings = {"method": "average", "slice_kev": 5, "scaling": "none"}
    assert features(rates, settings).tolist() == [[2.0, 7.0], [12.0, 17.0]]
    assert features(rates, settings, np.full(10, 2.0)).tolist() == [[0.0, 5.0], [10.0, 15.0]]


def test_array_files_are_written_whole(tmp_path: Path) -> None:
    live = np.array([1.0, 2.0])
    binned = Binned(np.ones((2, 4)), live, live, live, np.array(["a", "b"]), np.array(["2024-01-01", ""]))
    binned.save(tmp_path / "binned.npz")
    ref = reference(np.ones((3, 4)) + np.eye(3, 4), np.ones(3), np.ones((4, 1)))
    ref.save(tmp_path / "reference.npz")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["binned.npz", "reference.npz"]  # no temporary left
    loaded = Binned.load(tmp_path / "binned.npz")
    assert loaded.files.tolist() == ["a", "b"] and loaded.rates.tolist() == [[1.0] * 4, [0.5] * 4]
    again = type(ref).load(tmp_path / "reference.npz")
    assert float(again.total_extra_sd) == pytest.approx(ref.total_extra_sd)
    assert np.array_equal(again.mean_rate, ref.mean_rate)


def test_models_are_written_in_order_and_must_match_their_files(tmp_path: Path) -> None:
    paths = [str(tmp_path / "a.joblib"), str(tmp_path / "b.joblib")]
    write_models({"a": {"n": 1}, "b": {"n": 2}}, paths)
    assert [joblib.load(p)["n"] for p in paths] == [1, 2]
    with pytest.raises(ValueError, match="1 models for 2 files"):
        write_models({"a": 1}, paths)
