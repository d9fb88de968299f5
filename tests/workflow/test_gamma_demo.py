"""The gamma demo end to end: outputs, targets, report, caching by rule, the user's own spectra, and an archived
dataset (the paper's XGD package) declared in the registry beside the demo."""

from __future__ import annotations

import hashlib
import json
import re
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
PAPER = 'gamma={"dataset": "paper"}'


@pytest.fixture(scope="module")
def demo(demo_workspace: Path) -> Path:
    return demo_workspace


@pytest.fixture(scope="module")
def results(demo: Path) -> Path:
    return demo / "results" / "gamma" / "demo"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG image, from its IHDR chunk."""
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG"), path
    return struct.unpack(">II", data[16:24])


def has_double_column_size(path: Path, aspect: float) -> bool:
    """A 300 dpi PNG of a 7.2 in wide figure of height ``aspect`` x width (the tight bounding box adds or trims
    up to 0.2 in)."""
    width, height = png_size(path)
    return abs(width - 2160) <= 60 and abs(height - aspect * 2160) <= 60


def test_gamma_outputs_cover_every_test_spectrum(results: Path) -> None:
    """Every simulated test spectrum is scored by every method and classified once; the simulator writes no file
    that needs rejecting; the figures have the journal's double-column width and one spectrum figure per label
    combination, background included."""
    test_files = sorted(p.name for p in (results / "simulated" / "test").glob("*.sps"))
    assert len(test_files) > 100
    predictions = pd.read_csv(results / "test_predictions.csv", keep_default_na=False)
    assert sorted(predictions["file"]) == test_files
    scores = pd.read_csv(results / "binary" / "test_scores.csv")
    assert list(scores.columns) == ["file", "has_source", "method", "score", "predicted"]
    for method, part in scores.groupby("method"):
        assert sorted(part["file"]) == test_files, method
    binary = pd.read_csv(results / "binary_metrics.csv")
    assert (binary["n"] == len(test_files)).all()
    rejects = pd.read_csv(results / "rejects.csv")
    assert list(rejects.columns) == ["file", "problem", "action", "split"] and rejects.empty
    comparison = pd.read_csv(results / "activity_comparison.csv")
    assert (comparison["true_activity_bq"] > 0).all()
    present = comparison.apply(lambda row: row["nuclide"] in row["file"], axis=1)
    assert present.all()  # lines are compared only for nuclides the file truly holds (its name says which)
    assert has_double_column_size(results / "figures" / "confusion_matrices.png", 0.5)
    assert has_double_column_size(results / "figures" / "roc.png", 0.3)
    for name in ["confusion_matrices", "roc"]:
        assert (results / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
    spectra = sorted((results / "figures" / "spectra").glob("*.png"))
    contents = [p.stem.split("_", 2)[2] for p in spectra]  # test_00018_Cs-137 -> Cs-137
    assert len(spectra) == 12 and len(set(contents)) == 12 and "background" in contents
    assert all(has_double_column_size(p, 0.42) and p.with_suffix(".pdf").is_file() for p in spectra)


def test_gamma_demo_targets(results: Path, demo: Path) -> None:
    """The five-nuclide metrics over all test spectra, saturated on the spectra of the training activities (weak
    False in truth.csv); the weak sources take detection down to where it fails: the detection curve falls from
    certain detection at the most source counts to below one half at the fewest, with few false alarms."""
    config = yaml.safe_load((demo / "config.yaml").read_text())["gamma"]
    binary = pd.read_csv(results / "binary_metrics.csv").set_index("method")
    assert set(binary.index) == {"random_forest", "decision_tree", "logistic_regression", "sigma_total", "sigma_window"}
    method = config["predict"]["multilabel_method"]
    multilabel = pd.read_csv(results / "multilabel_metrics.csv").set_index("method")
    per_nuclide = pd.read_csv(results / "per_nuclide_metrics.csv").query("method == @method").set_index("nuclide")
    assert list(per_nuclide.index) == NUCLIDES
    truth = pd.read_csv(results / "truth.csv").query("split == 'test'")
    truth = truth.assign(file=truth["file"].str.split("/").str[-1]).set_index("file")
    predictions = pd.read_csv(results / "test_predictions.csv", keep_default_na=False).set_index("file")
    strong = predictions[~truth.loc[predictions.index, "weak"].astype(bool)]
    true_sets = ["+".join(n for n in NUCLIDES if truth.at[f, f"activity_bq_{n}"] > 0) for f in strong.index]
    assert (strong["has_source"] == [int(bool(t)) for t in true_sets]).mean() >= 0.99
    assert (strong["nuclides"] == true_sets).mean() >= 0.95
    for nuclide in NUCLIDES:
        truly = pd.Series([nuclide in t.split("+") for t in true_sets], index=strong.index)
        found = strong["nuclides"].str.split("+").map(lambda found, n=nuclide: n in found)
        f1 = 2 * (truly & found).sum() / (truly.sum() + found.sum())
        assert f1 >= 0.95, nuclide
    assert multilabel.loc[method, "exact_match"] < (strong["nuclides"] == true_sets).mean()
    curve = pd.read_csv(results / "detection_curve.csv")
    assert list(curve["method"].unique()) == ["ml", "peaks", "combined"]
    for method, part in curve.groupby("method"):
        sources = part[part["group"] == "sources"]
        assert sources["spectra"].sum() == (truth.filter(like="activity_bq_").sum(axis=1) > 0).sum()
        assert sources["detection_probability"].iloc[-1] >= 0.99 and sources["detection_probability"].iloc[0] < 0.5
        # The combination's source threshold keeps no false alarm among 45 validation backgrounds: about 2 % on
        # others, 1 to 3 of the 45 test backgrounds.
        alarms = part.set_index("group").at["background", "detection_probability"]
        assert alarms <= (0.07 if method == "combined" else 0.02), method
    width, height = png_size(results / "figures" / "detection.png")  # single column: 3.5 in at 300 dpi
    assert abs(width - 1050) <= 60 and abs(height - 0.75 * 1050) <= 60
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


def test_gamma_methods_compared_and_the_combination_reported(results: Path, demo: Path) -> None:
    """The models, the peaks and their combination (fitted on the validation spectra) on the test spectra: on the
    weak sources the peaks detect more than the models, and the combination detects and identifies exactly at least
    as many as the better of the two; over all test spectra its F1 is the best; it is the reported answer."""
    config = yaml.safe_load((demo / "config.yaml").read_text())["gamma"]
    metrics = pd.read_csv(results / "method_metrics.csv").set_index(["subset", "method"])
    assert sorted(metrics.index) == sorted(
        (s, m) for s in ("all", "training activities", "weak sources") for m in ("ml", "peaks", "combined")
    )
    assert set(metrics.index[metrics["reported"]].get_level_values("method")) == {config["predict"]["method"]}
    weak, overall = metrics.loc["weak sources"], metrics.loc["all"]
    assert weak.at["peaks", "binary_recall"] > weak.at["ml", "binary_recall"]
    for column in ("binary_recall", "exact_match"):
        assert weak.at["combined", column] >= weak.loc[["ml", "peaks"], column].max(), column
    assert overall.at["combined", "f1_micro"] >= overall.loc[["ml", "peaks"], "f1_micro"].max()
    assert metrics.loc["training activities"].at["combined", "exact_match"] >= 0.95
    per_nuclide = pd.read_csv(results / "method_per_nuclide_metrics.csv")
    assert len(per_nuclide) == 3 * 3 * len(NUCLIDES)


def test_gamma_predictions_have_the_issue_columns(results: Path) -> None:
    table = pd.read_csv(results / "test_predictions.csv", keep_default_na=False)
    expected = ["file", "has_source", "p_source", *[f"p_{n}" for n in NUCLIDES], "nuclides", "detector"]
    expected += [f"{c}_{n}" for n in NUCLIDES for c in ("activity_bq", "activity_sd_bq")]
    expected += ["ml_has_source", "ml_nuclides", "peak_has_source", "combined_p_source", "combined_has_source"]
    expected += ["combined_nuclides", *[f"combined_p_{n}" for n in NUCLIDES]]
    expected += ["peak_resolution", "peak_nuclides", "peak_series", "peak_significance", "peak_background"]
    expected += ["unexplained_peaks", "calibration", "calibration_nuclide", "calibration_coefficients"]
    expected += ["calibration_residuals"]
    assert sorted(table.columns) == sorted(expected)
    assert set(table["calibration"]) <= {"file", "corrected"}  # the simulated scale needs no rescaling
    backgrounds = table[table["file"].str.contains("background")]
    assert len(backgrounds) and (backgrounds["nuclides"] == "").all()
    # The models and the peaks raise no false alarm; the combination reported (its threshold set on validation
    # backgrounds) 2 of 45, naming no nuclide.
    assert (backgrounds[["ml_has_source", "peak_has_source"]] == 0).all().all()
    assert backgrounds["has_source"].sum() <= 2
    assert set(table["detector"]) == {"xenon"}


def test_gamma_report_and_provenance(demo: Path, results: Path) -> None:
    provenance = yaml.safe_load((results / "provenance.yaml").read_text())
    assert provenance["config"]["gamma"]["dataset"] == "demo"
    config = yaml.safe_load((demo / "config.yaml").read_text())["gamma"]
    assert provenance["config"]["gamma"]["datasets"] == {"demo": config["datasets"]["demo"]}
    assert provenance["packages"]["becquerel"] != "not installed"
    with zipfile.ZipFile(demo / "results" / "report.zip") as report:
        names = report.namelist()
    assert any(n.endswith("roc.png") for n in names)
    assert any(n.endswith("background.png") for n in names)


def test_gamma_feature_change_reruns_features_and_models_not_preprocessing(demo: Path) -> None:
    assert "Nothing to be done" in run_snakemake(demo, "-n", "gamma").stdout
    change = {"features": {"multilabel": {"method": "linfit"}}}
    jobs = run_snakemake(demo, "-n", "gamma", "--config", f"gamma={json.dumps(change)}").stdout
    assert "gamma_features" in jobs and "gamma_multilabel" in jobs and "gamma_figure_roc" in jobs
    assert "gamma_preprocess" not in jobs and "gamma_simulate" not in jobs and "gamma_binary" not in jobs


def test_gamma_query_folder_is_classified_with_rejects(demo_copy: Path, tmp_path: Path) -> None:
    demo = demo_copy
    query = tmp_path / "my_spectra"
    query.mkdir()
    test_dir = demo / "results" / "gamma" / "demo" / "simulated" / "test"
    for name in ["test_00036_Cs-137.sps", "test_00455_background.sps"]:
        shutil.copy(test_dir / name, query / name.replace("test_", "mine_"))
    broken = bytearray((test_dir / "test_00036_Cs-137.sps").read_bytes())
    struct.pack_into("<2f", broken, 440, 0.0, 0.0)
    (query / "broken.sps").write_bytes(bytes(broken))
    (query / "short.sps").write_bytes(bytes(broken[:500]))
    config = f"gamma={json.dumps({'query_dir': str(query)})}"
    jobs = run_snakemake(demo, "-n", "gamma", "--config", config).stdout
    # The user's spectra are classified by the demo models: nothing of the demo itself is redone.
    assert "gamma_predict" in jobs and "gamma_preprocess_user" in jobs
    assert not re.search(r"rule gamma_(preprocess|features|binary|multilabel|classify|metrics):", jobs)
    run_snakemake(demo, "-c2", "gamma", "--config", config)
    user = demo / "results" / "gamma" / "demo" / "user"
    predictions = pd.read_csv(user / "predictions.csv", keep_default_na=False).set_index("file")
    assert sorted(predictions.index) == ["mine_00036_Cs-137.sps", "mine_00455_background.sps"]
    assert predictions.loc["mine_00036_Cs-137.sps", "nuclides"] == "Cs-137"
    assert float(predictions.loc["mine_00036_Cs-137.sps", "activity_bq_Cs-137"]) > 0
    assert predictions.loc["mine_00455_background.sps", "has_source"] == 0
    # The peak-based identification beside the models: the detector used, the nuclides, the unexplained peaks.
    assert {"detector", "peak_resolution", "peak_nuclides", "peak_significance", "unexplained_peaks"} <= set(
        predictions.columns
    )
    assert "Cs-137" in predictions.loc["mine_00036_Cs-137.sps", "peak_nuclides"].split("+")
    limits = pd.read_csv(user / "nuclide_limits.csv")
    assert set(limits["file"]) == set(predictions.index) and (limits["detection_limit"] > 0).all()
    # Activities in Bq (the auto detector's preset efficiency) and ISO 11929 limits in Bq of the nuclides not reported.
    activities = pd.read_csv(user / "activities.csv").set_index(["file", "nuclide"])
    cs = activities.loc[("mine_00036_Cs-137.sps", "Cs-137")]
    assert cs["reported"] and cs["activity_bq"] > 0 and cs["activity_bq_sd"] > 0
    absent = activities[~activities["reported"]]
    assert len(absent) and (absent["detection_limit_bq"] > absent["decision_threshold_bq"]).all()
    assert pd.read_csv(user / "efficiency_calibration.csv").empty  # no gamma.efficiency_calibration
    lines = pd.read_csv(user / "predictions_lines.csv")
    assert set(lines["file"]) == {"mine_00036_Cs-137.sps"} and set(lines["nuclide"]) == {"Cs-137"}
    rejects = pd.read_csv(user / "rejects.csv")
    assert sorted(Path(f).name for f in rejects["file"]) == ["broken.sps", "short.sps"]
    assert set(rejects["action"]) == {"skipped"}
    assert pd.read_csv(demo / "results/gamma/demo/rejects.csv").empty
    assert (query / "broken.sps").is_file() and (query / "short.sps").is_file()


def planned_jobs(dry_run: str) -> list[tuple[str, str]]:
    """(rule, wildcards) of each job of a dry run's output."""
    return re.findall(r"^rule (\w+):\n(?:    (?!wildcards:).*\n)*    wildcards: (.*)$", dry_run, re.MULTILINE)


def declare_archive(workspace: Path, key: str, archive: Path) -> None:
    """Declare ``archive`` under ``key`` in the workspace's registry, as a user would: a file:// URL and its sha256."""
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    with open(workspace / "resources" / "remote_files.yaml", "a") as registry:
        registry.write(f"\n{key}:\n  url: file://{archive}\n  sha256: {digest}\n")


def test_gamma_paper_stops_at_planning_until_its_archive_is_declared(workspace: Path) -> None:
    proc = run_snakemake(workspace, "-n", "gamma", "--config", PAPER, check=False)
    assert proc.returncode != 0
    message = proc.stdout + proc.stderr
    assert "'gamma/xgd_spectra.zip' is not declared in resources/remote_files.yaml" in message
    assert "url: file://" in message and "sha256" in message


def test_gamma_paper_archive_is_fetched_extracted_and_built_beside_the_demo(demo_copy: Path, tmp_path: Path) -> None:
    """A declared archive (here the demo's spectra, zipped under one top folder) goes through the download rule and
    the extraction into results/gamma/paper/, and builds in the same DAG as the complete demo without touching it."""
    demo = demo_copy
    simulated = demo / "results" / "gamma" / "demo" / "simulated"
    archive = tmp_path / "xgd_spectra.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for path in sorted(simulated.rglob("*.sps")):
            bundle.write(path, f"XGD/{path.relative_to(simulated)}")
        bundle.writestr("XGD/readme.txt", "not a spectrum")
    declare_archive(demo, "gamma/xgd_spectra.zip", archive)
    both = f"gamma={json.dumps({'dataset': ['demo', 'paper']})}"
    jobs = run_snakemake(demo, "-n", "gamma", "--config", both).stdout
    assert "rule download:" in jobs and "rule gamma_extract:" in jobs
    # The demo is complete: only paper jobs, but for the shared provenance rule, whose inputs (the env files) are
    # absolute paths that changed when this workspace was copied.
    demo_rules = {rule for rule, wildcards in planned_jobs(jobs) if "dataset=demo" in wildcards}
    assert demo_rules <= {"provenance"}
    assert {rule for rule, wildcards in planned_jobs(jobs) if "dataset=paper" in wildcards} >= {
        "gamma_extract",
        "gamma_binary",
        "gamma_figure_spectra",
    }
    labels = "results/gamma/paper/preprocessed/test_labels.csv"
    run_snakemake(demo, "-c2", labels, "--config", both)
    assert (demo / "resources/downloads/gamma/xgd_spectra.zip").read_bytes() == archive.read_bytes()
    extracted = demo / "results" / "gamma" / "paper" / "spectra"
    assert sorted(p.name for p in extracted.iterdir() if not p.name.startswith(".")) == ["bkgs", "srcs", "test"]
    paper = pd.read_csv(demo / labels)
    expected = pd.read_csv(demo / "results/gamma/demo/preprocessed/test_labels.csv")
    pd.testing.assert_frame_equal(paper, expected)
