"""Calibrated multilabel models, standard metric definitions and the paper-data layer (fetch, layout, errors)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from fingerprintml.download import DownloadError
from fingerprintml.gamma.metrics import multilabel_metrics
from fingerprintml.gamma.models import binary_model, multilabel_model
from fingerprintml.gamma.paper import fetch_paper_spectra
from fingerprintml.gamma.spectrum import XGD_CALIBRATION, Spectrum, write_sps


def synthetic(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Labels of 3 nuclides (mixtures and all-zero background) and features that show each label with noise."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, (n, 3))
    features = np.repeat(labels, 4, axis=1) * 2.0 + rng.normal(0, 0.6, (n, 12))
    return features, labels


@pytest.mark.parametrize("method", ["random_forest", "decision_tree", "logistic_regression"])
def test_calibrated_multilabel_models_learn_mixtures(method: str) -> None:
    settings = {"random_forest": {"trees": 50}, "decision_tree": {"max_depth": 4}, "logistic_regression": {"C": 1.0}}
    x_train, y_train = synthetic(400, 0)
    x_test, y_test = synthetic(200, 1)
    model = multilabel_model(method, settings[method], "standard", 0.25, 0, 1).fit(x_train, y_train)
    probability = model.predict_proba(x_test)
    assert probability.shape == (200, 3) and ((probability >= 0) & (probability <= 1)).all()
    assert (model.predict(x_test) == y_test).all(axis=1).mean() > 0.8
    # Calibrated: among test labels predicted at about 0.9 or more, about that share or more is right.
    confident = probability >= 0.9
    assert y_test[confident].mean() > 0.85


def test_binary_model_and_scalings() -> None:
    x, y = synthetic(300, 2)
    for scaling in ("arctan", "standard", "none"):
        model = binary_model("logistic_regression", {"C": 1.0}, scaling, 0, 1).fit(x, y[:, 0])
        assert (model.predict(x) == y[:, 0]).mean() > 0.9
    with pytest.raises(ValueError, match="unknown scaling"):
        binary_model("decision_tree", {"max_depth": 2}, "tan", 0, 1)


def test_exact_match_counts_false_positives_and_precision_is_not_recall() -> None:
    truth = np.array([[1, 0], [1, 0], [0, 1], [0, 0]])
    predicted = np.array([[1, 1], [1, 0], [0, 1], [0, 0]])  # one false positive, nothing missed
    overall, per_nuclide = multilabel_metrics(truth, {"m": predicted}, {"m": predicted.astype(float)}, ["A", "B"])
    assert overall["exact_match"].item() == 0.75
    assert overall["hamming_loss"].item() == 1 / 8
    b = per_nuclide.set_index("nuclide").loc["B"]
    assert (b["precision"], b["recall"], b["fp"], b["fn"]) == (0.5, 1.0, 1, 0)


def xgd_archive(tmp_path: Path) -> Path:
    """A zip in the XGD layout (top folder, srcs/ bkgs/ test/ of .sps)."""
    archive = tmp_path / "xgd.zip"
    counts = np.arange(16)
    with zipfile.ZipFile(archive, "w") as zf:
        for folder in ("srcs", "bkgs", "test"):
            path = tmp_path / f"{folder}.sps"
            write_sps(Spectrum(counts, 10, 10, 5.0, XGD_CALIBRATION), path)
            zf.write(path, f"XGD_spectra/{folder}/Cs137_{folder}.sps")
    return archive


def test_paper_package_is_fetched_and_laid_out(tmp_path: Path) -> None:
    archive = xgd_archive(tmp_path)
    data = fetch_paper_spectra(str(archive), None, tmp_path / "dl/xgd", tmp_path / "data/paper")
    assert sorted(p.relative_to(data).as_posix() for p in data.rglob("*.sps")) == [
        "bkgs/Cs137_bkgs.sps",
        "srcs/Cs137_srcs.sps",
        "test/Cs137_test.sps",
    ]
    assert archive.is_file()


def test_paper_errors_name_the_url_and_what_to_set(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"gamma\.paper\.url is not set"):
        fetch_paper_spectra(None, None, tmp_path / "a", tmp_path / "d")
    missing = str(tmp_path / "nowhere" / "xgd.zip")
    with pytest.raises(DownloadError, match=r"gamma\.paper\.url") as error:
        fetch_paper_spectra(missing, None, tmp_path / "a", tmp_path / "d", retries=1)
    assert missing in str(error.value)
