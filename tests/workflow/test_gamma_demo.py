"""The gamma demo end to end: outputs, targets, report, caching by rule, and the user's own spectra."""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.conftest import run_snakemake

pytestmark = pytest.mark.workflow

NUCLIDES = ["Na-22", "Co-60", "Cs-137", "Eu-152", "Am-241"]


@pytest.fixture(scope="module")
def demo(demo_workspace: Path) -> Path:
    return demo_workspace


@pytest.fixture(scope="module")
def results(demo: Path) -> Path:
    return demo / "results" / "gamma"


def test_gamma_outputs_exist(results: Path) -> None:
    for name in [
        "binary_metrics.csv",
        "binary_confusion.csv",
        "multilabel_metrics.csv",
        "per_nuclide_metrics.csv",
        "activity_metrics.csv",
        "activity_comparison.csv",
        "test_predictions.csv",
        "rejects.csv",
        "provenance.yaml",
    ]:
        assert (results / name).is_file(), name
    for name in ["confusion_matrices", "roc"]:
        assert (results / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        assert (results / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    spectra = sorted((results / "figures" / "spectra").glob("*.png"))
    assert len(spectra) == 12 and any("background" in p.name for p in spectra)
    assert all(p.with_suffix(".pdf").is_file() for p in spectra)


def test_gamma_demo_targets(results: Path, demo: Path) -> None:
    config = yaml.safe_load((demo / "config.yaml").read_text())["gamma"]
    binary = pd.read_csv(results / "binary_metrics.csv").set_index("method")
    assert binary.loc["random_forest", "accuracy"] >= 0.99
    assert set(binary.index) == {"random_forest", "decision_tree", "logistic_regression", "sigma_total", "sigma_window"}
    method = config["predict"]["multilabel_method"]
    multilabel = pd.read_csv(results / "multilabel_metrics.csv").set_index("method")
    assert multilabel.loc[method, "exact_match"] >= 0.95
    per_nuclide = pd.read_csv(results / "per_nuclide_metrics.csv").query("method == @method").set_index("nuclide")
    assert list(per_nuclide.index) == NUCLIDES
    assert (per_nuclide["f1"] >= 0.95).all()
    activity = pd.read_csv(results / "activity_metrics.csv").set_index(["selection", "nuclide"])
    pooled, clean = activity.loc[("all", "all")], activity.loc[("interference-free", "all")]
    precise = activity.loc[(f"relative_sd<{config['activity']['max_relative_sd']:g}", "all")]
    assert pooled["n_lines"] > 500 and clean["n_lines"] > 300 and precise["n_lines"] > 0.9 * pooled["n_lines"]
    assert pooled["median_abs_error"] < 0.02
    assert pooled["fraction_within_tolerance"] > 0.97
    assert clean["fraction_within_tolerance"] > 0.98 and precise["fraction_within_tolerance"] > 0.99
    # The misses are statistical: the stated uncertainties are right (about 95 % of lines within 2 sigma) and
    # the estimator does about as well as an unbiased one with those uncertainties can.
    assert 0.9 < pooled["fraction_within_2sd"] < 0.99
    assert pooled["fraction_within_tolerance"] > pooled["expected_fraction_within_tolerance"] - 0.02


def test_gamma_predictions_have_the_issue_columns(results: Path) -> None:
    table = pd.read_csv(results / "test_predictions.csv", keep_default_na=False)
    expected = ["file", "has_source", "p_source", *[f"p_{n}" for n in NUCLIDES], "nuclides"]
    expected += [f"{c}_{n}" for n in NUCLIDES for c in ("activity_bq", "activity_sd_bq")]
    assert sorted(table.columns) == sorted(expected)
    backgrounds = table[table["file"].str.contains("background")]
    assert len(backgrounds) and (backgrounds["has_source"] == 0).all() and (backgrounds["nuclides"] == "").all()


def test_gamma_report_and_provenance(demo: Path, results: Path) -> None:
    provenance = yaml.safe_load((results / "provenance.yaml").read_text())
    assert provenance["config"]["gamma"]["dataset"] == "demo"
    assert provenance["packages"]["becquerel"] != "not installed"
    with zipfile.ZipFile(demo / "results" / "report.zip") as report:
        names = report.namelist()
    assert any(n.endswith("roc.png") for n in names)
    assert any(n.endswith("background.png") for n in names)


def test_gamma_feature_change_reruns_features_and_models_not_preprocessing(demo: Path) -> None:
    assert "Nothing to be done" in run_snakemake(demo, "-n", "gamma").stdout
    change = {"features": {"multilabel": {"method": "linfit"}}}
    jobs = run_snakemake(demo, "-n", "gamma", "--config", f"gamma={json.dumps(change)}").stdout
    assert "gamma_features" in jobs and "gamma_multilabel" in jobs
    assert "gamma_preprocess" not in jobs and "gamma_simulate" not in jobs and "gamma_binary" not in jobs


def test_gamma_query_folder_is_classified_with_rejects(demo_copy: Path, tmp_path: Path) -> None:
    demo = demo_copy
    query = tmp_path / "my_spectra"
    query.mkdir()
    test_dir = demo / "results" / "gamma" / "data" / "demo" / "test"
    for name in ["test_00018_Cs-137.sps", "test_00230_background.sps"]:
        shutil.copy(test_dir / name, query / name.replace("test_", "mine_"))
    broken = bytearray((test_dir / "test_00018_Cs-137.sps").read_bytes())
    struct.pack_into("<2f", broken, 440, 0.0, 0.0)
    (query / "broken.sps").write_bytes(bytes(broken))
    (query / "short.sps").write_bytes(bytes(broken[:500]))
    config = f"gamma={json.dumps({'query_dir': str(query)})}"
    run_snakemake(demo, "-c2", "results/gamma/predictions.csv", "results/gamma/rejects.csv", "--config", config)
    predictions = pd.read_csv(demo / "results/gamma/predictions.csv", keep_default_na=False).set_index("file")
    assert sorted(predictions.index) == ["mine_00018_Cs-137.sps", "mine_00230_background.sps"]
    assert predictions.loc["mine_00018_Cs-137.sps", "nuclides"] == "Cs-137"
    assert float(predictions.loc["mine_00018_Cs-137.sps", "activity_bq_Cs-137"]) > 0
    assert predictions.loc["mine_00230_background.sps", "has_source"] == 0
    rejects = pd.read_csv(demo / "results/gamma/rejects.csv")
    query_rejects = rejects[rejects["split"] == "query"]
    assert sorted(Path(f).name for f in query_rejects["file"]) == ["broken.sps", "short.sps"]
    assert (query / "broken.sps").is_file() and (query / "short.sps").is_file()
