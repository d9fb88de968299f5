"""The demo end to end in a temporary copy: outputs, report, provenance, no-op rerun and predictions."""

from __future__ import annotations

import csv
import json
import struct
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fingerprintml.isotopes.evaluate import best_run
from tests.conftest import DEMO_TARGETS, run_snakemake

pytestmark = pytest.mark.workflow

LEARNERS = ("xgboost", "svc", "extra_trees")
RUNS = [f"{m}-{lrn}" for m in ("flat", "lcpn", "lcppn", "lcpl") for lrn in LEARNERS] + ["selective-per_node"]
PARENT_NODES = 4
RESULTS = Path("results") / "isotopes" / "demo"


@pytest.fixture(scope="module")
def demo(demo_workspace: Path) -> Path:
    """The workspace after the README's main command: the demo run and its report."""
    return demo_workspace


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    return struct.unpack(">II", data[16:24])


def test_isotopes_outputs_hold_the_demo(demo: Path) -> None:
    """Contents, not just presence: the data tables have the class table's counts, each search's summary is its
    best point, the confusion counts add up to the samples of each level, each figure is a page and an image."""
    results = demo / RESULTS
    with (demo / "resources" / "isotopes" / "demo_classes.csv").open(newline="") as fh:
        classes = list(csv.DictReader(fh))
    train = pd.read_csv(results / "data" / "train.csv", keep_default_na=False)
    external = pd.read_csv(results / "data" / "external.csv", keep_default_na=False)
    for table, which in ((train, "train"), (external, "external")):
        assert len(table) == sum(int(row["n"]) for row in classes if row["set"] == which), which
    for run in RUNS:
        points = pd.read_csv(results / "search" / f"{run}.csv")
        best = json.loads((results / "search" / f"{run}.json").read_text())
        assert best["cv"] == 5 and f"{best['model']}-{best['learner']}" == run
        # The selective model's score is its last node's best (complete paths); any other run's is its best point.
        scored = points[points["node"] == points["node"].iloc[-1]] if "node" in points else points
        assert best["hF1"] == pytest.approx(scored["hF1"].max())
        assert len(pd.read_csv(results / "loo" / f"{run}.csv")) == len(train)
        assert len(pd.read_csv(results / "nested" / f"{run}.csv")) == len(train)
        assert len(pd.read_csv(results / "external" / f"{run}.csv")) == len(external)
    confusion = pd.read_csv(results / "confusion_matrices.csv", keep_default_na=False)
    reaching = {"source": len(train), "species": (train["species"] != "").sum(), "route": (train["route"] != "").sum()}
    assert confusion.groupby("level")["count"].sum().to_dict() == reaching
    levels = pd.read_csv(results / "per_level_accuracy.csv")
    table = pd.read_csv(results / "model_comparison.csv")
    pd.testing.assert_frame_equal(levels, table[levels.columns])
    assert levels[["acc_source", "acc_species", "acc_route"]].stack().between(0, 1).all()
    figures = [
        "model_comparison",
        "convergence",
        "confusion_matrices",
        "reliability",
        *[f"decision_regions/{r}" for r in RUNS],
    ]
    for name in figures:
        assert (results / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF"), name
        width, height = _png_size(results / "figures" / f"{name}.png")
        assert width > 500 and height > 200, (name, width, height)
    assert sorted(p.stem for p in (results / "figures" / "decision_regions").glob("*.png")) == sorted(RUNS)


def test_models_beat_the_baseline_and_table_is_complete(demo: Path) -> None:
    table = pd.read_csv(demo / RESULTS / "model_comparison.csv")
    assert sorted(table["model"] + "-" + table["learner"]) == sorted([*RUNS, "baseline-majority leaf"])
    baseline = table[table["model"] == "baseline"].iloc[0]
    models = table[table["model"] != "baseline"]
    assert baseline["hF1"] == pytest.approx(0.65, abs=0.02)
    assert (models["hF1"] > baseline["hF1"] + 0.05).all()
    assert models[["hF1", "hF1_no_root", "nested_hF1"]].le(1).all().all()
    assert (models["hF1_no_root"] < models["hF1"]).all()
    assert models["external_natural"].between(0, 1).all()
    latex = (demo / RESULTS / "model_comparison.tex").read_text()
    assert "\\begin{table}" in latex and "lcpn" in latex


def test_search_log_has_every_evaluated_point(demo: Path) -> None:
    config = yaml.safe_load((demo / "config.yaml").read_text())["isotopes"]
    log = pd.read_csv(demo / RESULTS / "search_log.csv")
    calls = log.groupby("run")["call"].nunique()
    assert set(calls.index) == set(RUNS)
    n_calls = config["datasets"]["demo"]["search"]["n_calls"]
    # The selective model searches every learner at each parent node of the hierarchy.
    assert calls.pop("selective-per_node") == n_calls * len(LEARNERS) * PARENT_NODES
    assert (calls == n_calls).all()


def test_provenance_records_config_versions_and_commit(demo: Path) -> None:
    provenance = yaml.safe_load((demo / RESULTS / "provenance.yaml").read_text())
    assert provenance["config"]["isotopes"]["dataset"] == "demo"
    assert list(provenance["config"]["isotopes"]["datasets"]) == ["demo"]
    assert provenance["packages"]["hiclass"] != "not installed"
    assert provenance["git_commit"]


def test_report_contains_figures_tables_and_captions(demo: Path) -> None:
    with zipfile.ZipFile(demo / "results" / "report.zip") as report:
        names = report.namelist()
        text = "\n".join(report.read(n).decode("utf-8", "ignore") for n in names if n.endswith((".html", ".js")))
    for figure in ["model_comparison.png", "convergence.png", "confusion_matrices.png", "lcpl-svc.png"]:
        assert any(n.endswith(figure) for n in names), figure
    assert any(n.endswith("model_comparison.csv") for n in names)
    assert "Bayesian hyperparameter search" in text


def test_nothing_reruns_after_a_complete_run(demo: Path) -> None:
    proc = run_snakemake(demo, "-n", *DEMO_TARGETS)
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_predict_rule_classifies_user_samples_and_reports_bad_rows(demo_copy: Path) -> None:
    demo = demo_copy
    samples = demo / "my_samples.csv"
    samples.write_text("sample,d18O,d56Fe\nA,-5.5,0.18\nB,12.0,\nC,abc,0.2\nD,8.1,0.19\n")
    override = ["--config", 'isotopes={"predict": {"input": "my_samples.csv"}}']
    dry = run_snakemake(demo, "-n", "isotopes", *override)
    assert "isotopes_predict" in dry.stdout and "isotopes_search" not in dry.stdout
    run_snakemake(demo, "--cores", "1", "isotopes", *override)
    predictions = pd.read_csv(demo / RESULTS / "user" / "predictions.csv", keep_default_na=False)
    rejected = pd.read_csv(demo / RESULTS / "user" / "rejected.csv")
    assert list(predictions["sample"]) == ["A", "D"]
    assert predictions.loc[0, "pred_source"] == "Engineered"
    assert predictions["prob_source"].between(0, 1).all()
    # Issue 22: domain, calibrated probabilities, conformal sets, backed-off path and Monte Carlo per sample.
    trust = ["domain_score", "in_domain", "cal_prob_source", "set_source", "backed_off_path", "mc_path_change"]
    assert set(trust) <= set(predictions.columns)
    assert predictions["mc_path_change"].between(0, 1).all()
    assert predictions[["d18O_sd", "d56Fe_sd"]].to_numpy().tolist() == [[0.1, 0.03], [0.1, 0.03]]
    assert list(rejected["line"]) == [3, 4]
    assert "d56Fe is missing" in rejected.loc[0, "reason"] and "d18O is not a number" in rejected.loc[1, "reason"]
    best = best_run(pd.read_csv(demo / RESULTS / "model_comparison.csv"))
    assert set(predictions["model"]) == {best}
    # A chosen run classifies them instead; only the prediction reruns.
    chosen = ["--config", 'isotopes={"predict": {"input": "my_samples.csv", "model": "lcpn-xgboost"}}']
    dry = run_snakemake(demo, "-n", "isotopes", *chosen)
    assert "isotopes_predict" in dry.stdout and "isotopes_evaluate" not in dry.stdout
    run_snakemake(demo, "--cores", "1", "isotopes", *chosen)
    predictions = pd.read_csv(demo / RESULTS / "user" / "predictions.csv", keep_default_na=False)
    assert set(predictions["model"]) == {"lcpn-xgboost"} and list(predictions["sample"]) == ["A", "D"]
