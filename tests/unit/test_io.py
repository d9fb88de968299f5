"""Atomic writes (tables, arrays), CSV tables and seeded random streams."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fingerprintml.download import RemoteFile, fetch
from fingerprintml.io import (
    atomic_path,
    read_table,
    read_table_with,
    write_array,
    write_arrays,
    write_json,
    write_table,
)
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


class FailsToConvert:
    """An array-like whose conversion fails, as a step that dies halfway through writing an archive."""

    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("out of memory")


def test_write_arrays_round_trip_plain_and_compressed(tmp_path: Path):
    arrays = {"features": np.arange(12.0).reshape(3, 4), "labels": np.array(["a", "b", "c"]), "n": np.int64(3)}
    write_arrays(tmp_path / "plain.npz", **arrays)
    write_arrays(tmp_path / "small.npz", compressed=True, zeros=np.zeros(100_000))
    with np.load(tmp_path / "plain.npz") as back:
        assert sorted(back.files) == ["features", "labels", "n"]
        for name, array in arrays.items():
            np.testing.assert_array_equal(back[name], array)
    assert (tmp_path / "small.npz").stat().st_size < 10_000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.npz", "small.npz"]


def test_write_arrays_takes_compressed_only_by_name(tmp_path: Path):
    with pytest.raises(TypeError):
        write_arrays(tmp_path / "a.npz", np.ones(3))
    with pytest.raises(ValueError, match="no arrays"):
        write_arrays(tmp_path / "a.npz")
    assert list(tmp_path.iterdir()) == []


def test_write_arrays_that_fails_halfway_leaves_the_previous_file_and_no_partial_one(tmp_path: Path):
    target = tmp_path / "features.npz"
    write_arrays(target, old=np.ones(3))
    with pytest.raises(RuntimeError, match="out of memory"):
        write_arrays(target, first=np.zeros(100_000), second=FailsToConvert())
    assert [p.name for p in tmp_path.iterdir()] == ["features.npz"]
    with np.load(target) as back:
        assert back.files == ["old"]


def test_write_array_round_trip_and_no_partial_file_on_failure(tmp_path: Path):
    target = tmp_path / "sub" / "profile.npy"
    write_array(target, np.linspace(0, 1, 7, dtype=np.float32))
    back = np.load(target)
    assert back.dtype == np.float32
    np.testing.assert_array_equal(back, np.linspace(0, 1, 7, dtype=np.float32))
    with pytest.raises(RuntimeError, match="out of memory"):
        write_array(tmp_path / "other.npy", FailsToConvert())
    assert sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")) == ["sub", "sub/profile.npy"]


def test_atomic_writes_give_the_mode_of_a_plain_open(tmp_path: Path):
    """Results stay readable by whoever may read the folder (mkstemp alone would make them 0600)."""
    (tmp_path / "plain.txt").write_text("x")
    write_json({"a": 1}, tmp_path / "atomic.json")
    write_array(tmp_path / "atomic.npy", np.ones(2))
    expected = (tmp_path / "plain.txt").stat().st_mode & 0o777
    assert expected != 0o600
    assert (tmp_path / "atomic.json").stat().st_mode & 0o777 == expected
    assert (tmp_path / "atomic.npy").stat().st_mode & 0o777 == expected


def test_read_table_with_names_the_file_and_the_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "classes.csv"
    path.write_text("class,n\nA,3\n")
    assert read_table_with(path, ["class", "n"])["n"].tolist() == [3]
    with pytest.raises(ValueError, match=r"classes.csv: missing columns \['sessions'\]"):
        read_table_with(path, ["class", "n", "sessions"])


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_tables_and_downloads_get_the_mode_of_the_umask_in_force(tmp_path: Path, umask: int, mode: int) -> None:
    """A group sharing a project folder (umask 002) can read and update results and downloads."""
    source = tmp_path / "source.txt"
    source.write_bytes(b"-4.10\t0.14\n")
    previous = os.umask(umask)
    try:
        write_table(pd.DataFrame({"sample": ["S1"]}), tmp_path / "predictions.csv")
        fetch(RemoteFile("x.txt", f"file://{source}", hashlib.sha256(b"-4.10\t0.14\n").hexdigest()), tmp_path / "x.txt")
    finally:
        os.umask(previous)
    assert {name: (tmp_path / name).stat().st_mode & 0o777 for name in ("predictions.csv", "x.txt")} == {
        "predictions.csv": mode,
        "x.txt": mode,
    }


@pytest.mark.parametrize(("separator", "name"), [(";", "semicolons"), ("\t", "tabs")])
def test_a_table_with_another_separator_is_reported_as_such(tmp_path: Path, separator: str, name: str) -> None:
    path = tmp_path / "classes.csv"
    path.write_text(separator.join(["class", "n"]) + "\n" + separator.join(["A", "3,5"]) + "\n")
    expected = f"classes.csv: the columns are separated by {name} ({separator!r})"
    with pytest.raises(ValueError, match=re.escape(expected)):
        read_table_with(path, ["class", "n"])
