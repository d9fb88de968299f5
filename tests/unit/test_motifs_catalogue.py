"""The cut-out catalogue: distinct, non-empty cut-outs, removable atoms with their bonded neighbours, round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fingerprintml.motifs.catalogue import bonded, build_catalogue, masks_to_table, read_catalogue, table_to_masks
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
