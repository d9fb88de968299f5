"""The cut-out catalogue: distinct, non-empty cut-outs, removable atoms with their bonded neighbours, round trip;
fits tables computed elsewhere read with clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fingerprintml.motifs.catalogue import (
    bonded,
    build_catalogue,
    masks_to_table,
    read_catalogue,
    read_fits_table,
    table_to_masks,
)
from fingerprintml.motifs.demo import keggin_with_decoys


def test_catalogue_rules() -> None:
    cluster, _ = keggin_with_decoys(6)
    masks = build_catalogue(cluster, ["W"], 2.5, 500, np.random.default_rng(0))
    w = cluster.elements == "W"
    assert masks.shape == (500, len(cluster))
    assert len({row.tobytes() for row in masks}) == 500
    assert masks[:, w].sum(axis=1).min() >= 1
    near = bonded(cluster, 2.5)
    for row in masks[:50]:
        expected_o = near[np.ix_(~w, row & w)].any(axis=1)
        np.testing.assert_array_equal(row[~w], expected_o)
    # k uniform in 1..18: both small and large cut-outs occur.
    counts = masks[:, w].sum(axis=1)
    assert counts.min() <= 2 and counts.max() >= 17


def test_too_many_cutouts_is_an_error() -> None:
    cluster, _ = keggin_with_decoys(0)
    with pytest.raises(ValueError, match="distinct"):
        build_catalogue(cluster.subset(np.arange(len(cluster)) < 14), ["W"], 2.5, 5000, np.random.default_rng(0))


def test_table_round_trip_keeps_leading_zeros(tmp_path) -> None:
    masks = np.array([[False, False, True], [True, True, False]])
    path = tmp_path / "catalogue.csv"
    masks_to_table(masks).to_csv(path, index=False)
    np.testing.assert_array_equal(table_to_masks(read_catalogue(path), 3), masks)


def test_bad_mask_is_named() -> None:
    table = pd.DataFrame({"cutout": [0, 1], "mask": ["010", "01"]})
    with pytest.raises(ValueError, match="row 1"):
        table_to_masks(table, 3)


def _fits_csv(tmp_path, text: str) -> str:
    path = tmp_path / "fits.csv"
    path.write_text(text)
    return str(path)


def test_a_fits_table_from_elsewhere_is_a_catalogue_and_its_fits(tmp_path) -> None:
    path = _fits_csv(tmp_path, "cutout,mask,rw,scale\n7,0110,0.31,1.2\n3,1111,0.25,1.1\n")
    catalogue, fits = read_fits_table(path, 4)
    assert catalogue["cutout"].tolist() == [7, 3] and catalogue["n_atoms"].tolist() == [2, 4]
    assert catalogue["mask"].tolist() == ["0110", "1111"]
    assert fits.columns.tolist() == ["cutout", "n_atoms", "rw", "scale"]
    assert fits["rw"].tolist() == [0.31, 0.25]
    np.testing.assert_array_equal(table_to_masks(catalogue, 4), [[0, 1, 1, 0], [1, 1, 1, 1]])
    # Without ids the cut-outs are numbered by row.
    catalogue, _ = read_fits_table(_fits_csv(tmp_path, "mask,rw\n0110,0.3\n0011,0.4\n"), 4)
    assert catalogue["cutout"].tolist() == [0, 1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("mask,quality\n0110,0.3\n0011,0.4\n", r"missing column\(s\) \['rw'\]"),
        ("mask,rw\n0110,0.3\n", "1 cut-out"),
        ("mask,rw\n011,0.3\n0011,0.4\n", "not 4 characters of 0/1"),
        ("mask,rw\n01x0,0.3\n0011,0.4\n", "not 4 characters of 0/1"),
        ("mask,rw\n0000,0.3\n0011,0.4\n", "row 0 keeps no atom"),
        ("mask,rw\n0110,0.3\n0011,bad\n", "row 1 has rw 'bad'"),
        ("mask,rw\n0110,0.3\n0011,\n", "row 1 has rw"),
        ("mask,rw\n0110,-0.3\n0011,0.4\n", "row 0 has rw"),
        ("cutout,mask,rw\n1,0110,0.3\n1,0011,0.4\n", "distinct integers"),
        ("", "not a readable CSV"),
    ],
)
def test_a_bad_fits_table_is_an_error_naming_the_file(tmp_path, text: str, message: str) -> None:
    path = _fits_csv(tmp_path, text)
    with pytest.raises(ValueError, match=message) as error:
        read_fits_table(path, 4)
    assert path in str(error.value)


def test_a_missing_fits_table_is_an_error_naming_it(tmp_path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        read_fits_table(str(tmp_path / "absent.csv"), 4)
