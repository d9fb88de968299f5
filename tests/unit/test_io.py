"""Atomic writes, CSV tables and seeded random streams."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fingerprintml.io import atomic_path, read_table, write_table
from fingerprintml.seeds import rng_for, seed_for


def test_atomic_path_renames_on_success(tmp_path: Path):
    target = tmp_path / "sub" / "table.txt"
    with atomic_path(target) as tmp:
        assert tmp.parent == target.parent
        assert tmp != target
        tmp.write_text("done\n")
        assert not target.exists()
    assert target.read_text() == "done\n"
    assert [p.name for p in target.parent.iterdir()] == ["table.txt"]


def test_atomic_path_leaves_nothing_when_block_raises(tmp_path: Path):
    target = tmp_path / "table.txt"
    with pytest.raises(RuntimeError, match="step failed"), atomic_path(target) as tmp:
        tmp.write_text("half a table")
        raise RuntimeError("step failed")
    assert list(tmp_path.iterdir()) == []


def test_atomic_path_keeps_previous_file_when_block_raises(tmp_path: Path):
    target = tmp_path / "table.txt"
    target.write_text("previous run\n")
    with pytest.raises(KeyError), atomic_path(target) as tmp:
        tmp.write_text("new, unfinished")
        raise KeyError("x")
    assert target.read_text() == "previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["table.txt"]


def test_write_read_table_round_trip_keeps_empty_strings(tmp_path: Path):
    df = pd.DataFrame(
        {
            "sample": ["train001", "train002", "train003"],
            "d18O": [-4.1, 10.25, 6.0],
            "source": ["Engineered", "Natural", "Incidental"],
            "species": ["Mag", "", ""],
            "route": ["EP", "", "NA"],
        }
    )
    path = tmp_path / "table.csv"
    write_table(df, path)
    back = read_table(path)
    assert list(back.columns) == list(df.columns)
    assert back["species"].tolist() == ["Mag", "", ""]
    assert back["route"].tolist() == ["EP", "", "NA"]
    np.testing.assert_allclose(back["d18O"].to_numpy(), df["d18O"].to_numpy())
    assert path.read_bytes().count(b"\r") == 0
    assert [p.name for p in tmp_path.iterdir()] == ["table.csv"]


def test_write_table_is_byte_identical_on_rerun(tmp_path: Path):
    df = pd.DataFrame({"x": [1 / 3, 2 / 3], "y": ["a", ""]})
    write_table(df, tmp_path / "a.csv")
    write_table(df.copy(), tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert "0.333333" in (tmp_path / "a.csv").read_text()


def test_rng_for_same_seed_and_names_gives_same_stream():
    a = rng_for(42, "isotopes-demo", "train").normal(size=20)
    b = rng_for(42, "isotopes-demo", "train").normal(size=20)
    np.testing.assert_array_equal(a, b)


def test_rng_for_different_names_or_seeds_give_different_streams():
    base = rng_for(42, "isotopes-demo", "train").normal(size=20)
    for other in (rng_for(42, "isotopes-demo", "external"), rng_for(43, "isotopes-demo", "train"), rng_for(42, "x")):
        assert not np.allclose(base, other.normal(size=20))
    assert seed_for(42, "a", "b") != seed_for(42, "b", "a")
