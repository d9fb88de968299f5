"""Parsing the NanoTracer isotope files, their error cases, and the demo data drawn from the class table."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fingerprintml.isotopes.data import (
    FEATURES,
    LEVELS,
    DataFormatError,
    label_paths,
    leaf_names,
    read_features,
    read_labels,
    read_paper_dataset,
)
from fingerprintml.isotopes.demo import demo_dataset, read_class_table


def leaf_counts(df: pd.DataFrame) -> dict[str, int]:
    names, counts = np.unique(leaf_names(label_paths(df)), return_counts=True)
    return dict(zip(names.tolist(), counts.tolist(), strict=True))


@pytest.fixture
def copied_files(tmp_path: Path, paper_files: dict[str, Path]) -> dict[str, Path]:
    """Writable copies of the five NanoTracer files."""
    out = {}
    for key, path in paper_files.items():
        out[key] = tmp_path / path.name
        shutil.copyfile(path, out[key])
    return out


def read(files: dict[str, Path]):
    return read_paper_dataset(**{key: str(path) for key, path in files.items()})


@pytest.fixture(scope="module")
def class_table(repo_root: Path) -> pd.DataFrame:
    return read_class_table(repo_root / "resources" / "isotopes" / "demo_classes.csv")


def test_training_set_class_counts(paper_tables):
    train, _ = paper_tables
    assert len(train) == 113
    assert list(train.columns) == ["sample", *FEATURES, *LEVELS]
    assert train["source"].value_counts().to_dict() == {"Engineered": 84, "Natural": 15, "Incidental": 14}
    assert leaf_counts(train) == {
        "Engineered:Mag:EA": 10,
        "Engineered:Mag:EP": 24,
        "Engineered:Mag:ES": 21,
        "Engineered:Mgh:EP": 11,
        "Engineered:Mgh:ES": 18,
        "Incidental": 14,
        "Natural": 15,
    }
    shallow = train[train["source"] != "Engineered"]
    assert (shallow["species"] == "").all()
    assert (shallow["route"] == "").all()
    assert train["sample"].is_unique


def test_training_features_are_the_file_values(paper_tables, paper_files):
    train, _ = paper_tables
    first = paper_files["x_train"].read_text().splitlines()[0].split("\t")
    assert train.loc[0, "d18O"] == float(first[0])
    assert train.loc[0, "d56Fe"] == float(first[1])
    # Engineered magnetite carries light oxygen from process water, natural magnetite heavier oxygen.
    means = train.groupby("source")["d18O"].mean()
    assert means["Engineered"] < means["Natural"]


def test_external_set_is_natural_with_troll_subset(paper_tables, paper_files):
    _, external = paper_tables
    assert len(external) == 142
    assert (external["source"] == "Natural").all()
    assert (external[["species", "route"]] == "").all().all()
    assert (external["subset"] == "Troll").sum() == 76
    assert (external["subset"].iloc[:76] == "Troll").all()
    troll = read_features(paper_files["x_test_troll"])
    np.testing.assert_array_equal(external[FEATURES].to_numpy()[:76], troll)


def test_text_in_number_column_names_file_and_line(copied_files):
    path = copied_files["x_train"]
    lines = path.read_text().splitlines()
    lines[4] = "-4.10\tabc"
    path.write_text("\r\n".join(lines) + "\r\n")
    with pytest.raises(DataFormatError) as info:
        read(copied_files)
    assert str(path) in str(info.value)
    assert "line 5" in str(info.value)


def test_wrong_number_of_fields_is_an_error(tmp_path: Path):
    path = tmp_path / "X.txt"
    path.write_text("1.0\t0.1\n2.0\n")
    with pytest.raises(DataFormatError, match="line 2"):
        read_features(path)


def test_label_path_outside_hierarchy(copied_files):
    path = copied_files["y_train"]
    lines = path.read_text().splitlines()
    lines[2] = "MgP,MgP.Engineered,MgP.Engineered.Mgh,MgP.Engineered.Mgh.EA"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataFormatError) as info:
        read(copied_files)
    assert str(path) in str(info.value)
    assert "line 3" in str(info.value)


def test_label_path_with_wrong_parent(tmp_path: Path):
    path = tmp_path / "y.csv"
    path.write_text("MgP,MgP.Natural\nMgP,MgP.Engineered,MgP.Natural.Mag,MgP.Engineered.Mag.EP\n")
    with pytest.raises(DataFormatError, match="line 2"):
        read_labels(path)


def test_mismatched_row_counts(copied_files):
    path = copied_files["x_train"]
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(DataFormatError, match="112 rows") as info:
        read(copied_files)
    assert str(copied_files["y_train"]) in str(info.value)


def test_troll_file_must_repeat_first_external_rows(copied_files):
    x_test = copied_files["x_test"].read_text().splitlines()
    copied_files["x_test_troll"].write_text("\n".join(x_test[1:77]) + "\n")
    with pytest.raises(DataFormatError) as info:
        read(copied_files)
    assert str(copied_files["x_test_troll"]) in str(info.value)


def test_demo_has_the_paper_class_balance(class_table, paper_tables):
    paper_train, paper_external = paper_tables
    train, external = demo_dataset(class_table, seed=7)
    assert list(train.columns) == list(paper_train.columns)
    assert leaf_counts(train) == leaf_counts(paper_train)
    assert len(external) == len(paper_external) == 142
    assert (external["source"] == "Natural").all()
    assert train["sample"].is_unique


def test_demo_is_deterministic_per_seed(class_table):
    a_train, a_ext = demo_dataset(class_table, seed=7)
    b_train, b_ext = demo_dataset(class_table, seed=7)
    pd.testing.assert_frame_equal(a_train, b_train)
    pd.testing.assert_frame_equal(a_ext, b_ext)
    c_train, _ = demo_dataset(class_table, seed=8)
    assert not np.allclose(a_train[FEATURES].to_numpy(), c_train[FEATURES].to_numpy())


@pytest.mark.parametrize("seed", [1, 2])
def test_demo_class_means_match_the_table(class_table, seed: int):
    train, external = demo_dataset(class_table, seed=seed)
    drawn = pd.concat([train.assign(set="train"), external.assign(set="external")])
    for _, cls in class_table.iterrows():
        rows = drawn[
            (drawn["set"] == cls["set"])
            & (drawn["source"] == cls["source"])
            & (drawn["species"] == cls["species"])
            & (drawn["route"] == cls["route"])
        ]
        assert len(rows) == cls["n"]
        for feature in FEATURES:
            standard_error = cls[f"{feature}_sd"] / np.sqrt(cls["n"])
            assert abs(rows[feature].mean() - cls[f"{feature}_mean"]) < 4 * standard_error + 0.005
            assert np.allclose(rows[feature], rows[feature].round(2))
