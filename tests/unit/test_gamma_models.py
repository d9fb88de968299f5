"""Calibrated multilabel models, standard metric definitions and archived datasets (layout, errors)."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pytest
import yaml

from fingerprintml.gamma.metrics import multilabel_metrics
from fingerprintml.gamma.models import binary_model, multilabel_model
from fingerprintml.gamma.paper import extract_spectra, layout_member
from fingerprintml.gamma.plan import archive_key
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


def xgd_archive(tmp_path: Path, folders=("srcs", "bkgs", "test"), top: str = "XGD_spectra/") -> Path:
    """A zip in the XGD layout (``top`` folder, srcs/ bkgs/ test/ of .sps), with a readme and macOS litter."""
    archive = tmp_path / "xgd.zip"
    counts = np.arange(16)
    with zipfile.ZipFile(archive, "w") as zf:
        for folder in folders:
            path = tmp_path / f"{folder}.sps"
            write_sps(Spectrum(counts, 10, 10, 5.0, XGD_CALIBRATION), path)
            zf.write(path, f"{top}{folder}/Cs137_{folder}.sps")
        zf.writestr(f"{top}README.txt", "spectra")
        zf.writestr(f"__MACOSX/{top}srcs/._Cs137_srcs.sps", "resource fork")
    return archive


@pytest.mark.parametrize("top", ["XGD_spectra/", ""])
def test_archive_is_laid_out_under_the_dataset_folder(tmp_path: Path, top: str) -> None:
    data = tmp_path / "data"
    counts = extract_spectra(xgd_archive(tmp_path, top=top), data)
    assert counts == {"srcs": 1, "bkgs": 1, "test": 1}
    assert sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file()) == [
        "bkgs/Cs137_bkgs.sps",
        "srcs/Cs137_srcs.sps",
        "test/Cs137_test.sps",
    ]


def test_archive_layout_errors_name_the_archive_and_the_layout(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"xgd\.zip: no files in bkgs/.*srcs/ \(training sources\)"):
        extract_spectra(xgd_archive(tmp_path, folders=("srcs", "test")), tmp_path / "a")
    two = tmp_path / "two"
    two.mkdir()
    archive = xgd_archive(two)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("other/test/x.sps", "x")
    with pytest.raises(ValueError, match=r"several top folders \(XGD_spectra, other\)"):
        extract_spectra(archive, tmp_path / "b")
    not_archive = tmp_path / "plain.zip"
    not_archive.write_text("not an archive")
    with pytest.raises(ValueError, match="neither a zip nor a tar"):
        extract_spectra(not_archive, tmp_path / "c")


def test_layout_members_keep_at_most_one_top_folder() -> None:
    assert layout_member(PurePosixPath("srcs/a.sps")) == PurePosixPath("srcs/a.sps")
    assert layout_member(PurePosixPath("XGD/test/sub/a.sps")) == PurePosixPath("test/sub/a.sps")
    assert layout_member(PurePosixPath("a/b/srcs/a.sps")) is None
    assert layout_member(PurePosixPath("XGD/readme.txt")) is None
    assert layout_member(PurePosixPath("srcs")) is None
    assert layout_member(PurePosixPath("__MACOSX/srcs/._a.sps")) is None
    assert layout_member(PurePosixPath("XGD/srcs/._a.sps")) is None


def test_an_undeclared_archive_says_how_to_declare_it() -> None:
    with pytest.raises(ValueError) as error:
        archive_key(yaml.safe_load((Path(__file__).parents[2] / "config.yaml").read_text())["gamma"], "paper", set())
    message = str(error.value)
    assert "'paper'" in message and "resources/remote_files.yaml" in message
    entry = yaml.safe_load(message.split(":\n", 1)[1].split("\n(")[0])
    assert set(entry["gamma/xgd_spectra.zip"]) == {"url", "sha256"}
    assert entry["gamma/xgd_spectra.zip"]["url"].startswith("file://")
