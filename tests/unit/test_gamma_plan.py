"""What the gamma rules plan with: outputs per dataset, the source of the spectra, the archive's registry key."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from fingerprintml.gamma import plan
from fingerprintml.gamma.pipeline import ClassifySettings, TrainingSettings

REPO = Path(__file__).resolve().parents[2]
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())["gamma"]


def test_targets_per_dataset_with_activity_only_where_simulated_and_user_files_under_user() -> None:
    demo, paper = plan.target_paths(CONFIG, "demo"), plan.target_paths(CONFIG, "paper")
    assert all(p.startswith("results/gamma/demo/") for p in demo)
    assert {"results/gamma/demo/activity_metrics.csv", "results/gamma/demo/detection_curve.csv"} <= set(demo)
    truth_based = ("activity", "detection", "method_")  # method_: the combination needs validation spectra
    assert [p.replace("/paper/", "/demo/") for p in paper] == [p for p in demo if not any(t in p for t in truth_based)]
    assert {"results/gamma/demo/method_metrics.csv", "results/gamma/demo/method_per_nuclide_metrics.csv"} <= set(demo)
    assert not any("/user/" in p for p in demo)
    with_query = plan.target_paths({**CONFIG, "query_dir": "/data/mine"}, "paper")
    assert sorted(set(with_query) - set(paper)) == [
        "results/gamma/paper/user/activities.csv",
        "results/gamma/paper/user/identification.csv",
        "results/gamma/paper/user/nuclide_limits.csv",
        "results/gamma/paper/user/peaks.csv",
        "results/gamma/paper/user/predictions.csv",
        "results/gamma/paper/user/predictions_lines.csv",
        "results/gamma/paper/user/rejects.csv",
    ]
    with pytest.raises(ValueError, match="known datasets: baldr, demo, opengamma, paper"):
        plan.target_paths(CONFIG, "nope")


def test_only_datasets_with_validation_spectra_combine_the_methods() -> None:
    """The demo simulates validation spectra: its test classification takes the peak identification and the
    combination and reports gamma.predict.method's answer; the paper's archive has none: the models' answer."""
    assert plan.has_validation(CONFIG, "demo") and not plan.has_validation(CONFIG, "paper")
    assert plan.combination_inputs(CONFIG, "demo") == {
        "identification": "results/gamma/demo/identification/test.csv",
        "limits": "results/gamma/demo/identification/test_limits.csv",
        "combiner": "results/gamma/demo/models/combination.joblib",
    }
    assert plan.combination_inputs(CONFIG, "paper") == {}
    assert plan.classify_settings(CONFIG, dataset="demo")["method"] == CONFIG["predict"]["method"]
    assert plan.classify_settings(CONFIG, dataset="paper")["method"] == "ml"
    assert plan.classify_settings(CONFIG, query=True, dataset="demo")["method"] == "ml"


def test_spectra_come_from_the_simulator_or_the_declared_archive() -> None:
    assert plan.spectra_folder(CONFIG, "demo") == "results/gamma/demo/simulated"
    assert plan.spectra_folder(CONFIG, "paper") == "results/gamma/paper/spectra"
    key = CONFIG["datasets"]["paper"]["archive"]
    assert plan.archive_key(CONFIG, "paper", {key, "other"}) == key
    with pytest.raises(ValueError, match=r"'paper': its archive 'gamma/xgd_spectra.zip' is not declared") as error:
        plan.archive_key(CONFIG, "paper", {"other"})
    entry = yaml.safe_load(str(error.value).split(":\n", 1)[1].split("\n(")[0])
    assert set(entry[key]) == {"url", "sha256"} and entry[key]["url"].startswith("file://")
    with pytest.raises(ValueError, match="no archive"):
        plan.archive_key(CONFIG, "demo", {key})
    with pytest.raises(ValueError, match="query_dir is not set"):
        plan.query_dir(CONFIG)


def test_settings_hold_what_the_models_use_and_build_the_dataclasses() -> None:
    binary = plan.training_settings(CONFIG, "binary")
    assert TrainingSettings(**binary).k_window == CONFIG["binary"]["sigma"]["k_window"]
    multilabel = TrainingSettings(**plan.training_settings(CONFIG, "multilabel"))
    assert multilabel.calibration_fraction == CONFIG["multilabel"]["calibration_fraction"]
    assert set(multilabel.models) == set(CONFIG["multilabel"]["methods"])
    changed = copy.deepcopy(CONFIG)
    changed["activity"]["tolerance"] = 0.5
    changed["query_dir"] = "/data/mine"
    assert plan.training_settings(changed, "binary") == binary
    assert plan.classify_settings(changed) == plan.classify_settings(CONFIG)
    assert ClassifySettings(**plan.classify_settings(CONFIG)).threshold == CONFIG["multilabel"]["threshold"]
    wrong = copy.deepcopy(CONFIG)
    wrong["predict"]["binary_method"] = "random_forest"
    wrong["binary"]["methods"] = ["decision_tree"]
    with pytest.raises(ValueError, match=r"gamma\.predict\.binary_method"):
        plan.check_predict_methods(wrong)


def test_planning_module_imports_nothing_heavy() -> None:
    code = (
        "import sys, fingerprintml.gamma.plan; print(sorted({'numpy', 'pandas', 'scipy', 'torch'} & set(sys.modules)))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip() == "[]"


def test_a_cap_that_does_not_divide_into_feature_slices_is_a_config_error() -> None:
    plan.check_feature_slices(CONFIG)
    wrong = copy.deepcopy(CONFIG)
    wrong["preprocess"]["cap_kev"] = 1510
    with pytest.raises(ValueError) as info:
        plan.check_feature_slices(wrong)
    assert str(info.value).startswith("config: gamma.preprocess.cap_kev = 1510: not a multiple of")
    assert "gamma.features.binary.slice_kev = 25" in str(info.value) and "e.g. 1500, 1525" in str(info.value)
