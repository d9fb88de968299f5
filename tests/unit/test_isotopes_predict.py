"""Reading a user's sample file and classifying its rows."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

from fingerprintml.isotopes.data import DataFormatError
from fingerprintml.isotopes.models import fit_model
from fingerprintml.isotopes.predict import classify, measurement_sd, predict_file, read_samples


@pytest.fixture(scope="module")
def estimator(train_xy):
    X, Y = train_xy
    return fit_model("lcppn", "xgboost", {"n_estimators": 20, "max_depth": 3}, 0, X, Y)


def test_read_samples_splits_good_and_rejected_rows(tmp_path: Path):
    path = tmp_path / "samples.csv"
    path.write_text("sample,d18O,d56Fe\nS1,-4.10,0.14\nS2,5.2,\nS3,abc,0.20\n")
    good, bad = read_samples(path)
    assert good.to_dict("records") == [{"line": 2, "sample": "S1", "d18O": -4.10, "d56Fe": 0.14}]
    assert bad["line"].tolist() == [3, 4]
    assert bad["sample"].tolist() == ["S2", "S3"]
    assert "d56Fe" in bad.loc[0, "reason"]
    assert "missing" in bad.loc[0, "reason"]
    assert "d18O" in bad.loc[1, "reason"]
    assert "abc" in bad.loc[1, "reason"]


def test_read_samples_rejects_non_finite_and_short_rows(tmp_path: Path):
    path = tmp_path / "samples.csv"
    path.write_text("sample, d18O , d56Fe\nA,inf,0.1\nB,1.0\nC,2.5,0.3\n")
    good, bad = read_samples(path)
    assert good["sample"].tolist() == ["C"]
    assert good["line"].tolist() == [4]
    assert bad["line"].tolist() == [2, 3]
    assert "finite" in bad.loc[0, "reason"]
    assert "d56Fe" in bad.loc[1, "reason"]


def test_read_samples_keeps_measurement_sd_and_rejects_bad_ones(tmp_path: Path):
    path = tmp_path / "samples.csv"
    path.write_text("sample,d18O,d56Fe,d18O_sd,d56Fe_sd\nA,-4.1,0.14,0.2,\nB,1.0,0.2,-0.1,0.05\nC,2.0,0.3,x,0.05\n")
    good, bad = read_samples(path)
    assert good["sample"].tolist() == ["A"]
    assert good.loc[0, "d18O_sd"] == 0.2 and np.isnan(good.loc[0, "d56Fe_sd"])
    assert bad["line"].tolist() == [3, 4]
    assert "d18O_sd is negative" in bad.loc[0, "reason"] and "d18O_sd is not a number" in bad.loc[1, "reason"]
    # A blank sd takes the configured default of its isotope.
    assert measurement_sd(good, {"d18O": 0.1, "d56Fe": 0.03}).tolist() == [[0.2, 0.03]]


def test_read_samples_missing_column_names_file_and_column(tmp_path: Path):
    path = tmp_path / "samples.csv"
    path.write_text("sample,d18O\nS1,-4.1\n")
    with pytest.raises(DataFormatError) as info:
        read_samples(path)
    assert str(path) in str(info.value)
    assert "d56Fe" in str(info.value)


def test_read_samples_reports_a_semicolon_separated_file_as_a_separator_problem(tmp_path: Path):
    path = tmp_path / "samples.csv"
    path.write_text("sample;d18O;d56Fe\nS1;-4,1;0,2\n")
    with pytest.raises(DataFormatError, match=r"samples.csv: the columns are separated by semicolons \(';'\)"):
        read_samples(path)


def test_classify_gives_source_and_probabilities(tmp_path: Path, estimator, paper_tables):
    train, _ = paper_tables
    path = tmp_path / "samples.csv"
    picks = train.groupby("source").head(2)
    lines = [f"{row.sample},{row.d18O},{row.d56Fe}" for row in picks.itertuples()]
    path.write_text("sample,d18O,d56Fe\n" + "\n".join(lines) + "\n")
    good, bad = read_samples(path)
    assert bad.empty
    out = classify(estimator, good, "lcppn-xgboost")
    assert len(out) == len(picks)
    assert (out["model"] == "lcppn-xgboost").all()
    assert set(out["pred_source"]) <= {"Natural", "Incidental", "Engineered"}
    assert ((out["prob_source"] > 0) & (out["prob_source"] <= 1)).all()
    for row in out.itertuples():
        assert row.prob_source == pytest.approx(getattr(row, f"p_{row.pred_source}"))
    sources = out[["p_Natural", "p_Incidental", "p_Engineered"]].sum(axis=1)
    np.testing.assert_allclose(sources, 1.0, atol=1e-6)
    # Training samples are classified at the source level as labelled for most rows.
    assert (out["pred_source"].to_numpy() == picks["source"].to_numpy()).mean() >= 0.5


def test_classify_empty_input_keeps_columns(estimator, tmp_path: Path):
    path = tmp_path / "samples.csv"
    path.write_text("sample,d18O,d56Fe\nS1,,\n")
    good, bad = read_samples(path)
    assert good.empty
    assert len(bad) == 1
    out = classify(estimator, good, "run")
    assert out.empty
    assert {"pred_source", "pred_species", "pred_route"} <= set(out.columns)


def test_implausible_isotope_values_are_flagged_and_still_classified(tmp_path: Path, estimator, paper_tables):
    """Real NanoTracer training rows, two of them mistyped (d56Fe 0.14 -> 14, d18O -4.10 -> -41.0): all are
    classified; only the mistyped ones carry a flag naming the value and the range."""
    train, _ = paper_tables
    rows = train.head(3)
    values = [(row.sample, row.d18O, row.d56Fe) for row in rows.itertuples()]
    values += [("typo_fe", -4.10, 14.0), ("typo_o", -41.0, 0.14)]
    path = tmp_path / "samples.csv"
    path.write_text("sample,d18O,d56Fe\n" + "".join(f"{s},{o},{fe}\n" for s, o, fe in values))
    model_file = tmp_path / "model.joblib"
    joblib.dump({"estimator": estimator, "trust": None}, model_file)
    predictions, rejected = predict_file(
        path, {"lcppn-xgboost": str(model_file)}, pd.DataFrame(), "lcppn-xgboost", sd={}, draws=0, seed=0
    )
    assert rejected.empty and len(predictions) == 5 and predictions["pred_source"].notna().all()
    flags = predictions.set_index("sample")["outside_plausible_range"]
    assert (flags.loc[list(rows["sample"])] == "").all()
    assert flags["typo_fe"] == "d56Fe 14 not in [-5, 3] permil"
    assert flags["typo_o"] == "d18O -41 not in [-30, 35] permil"
