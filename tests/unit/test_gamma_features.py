"""Preprocessing (rebinning, labels) and the AVERAGE and LINFIT features against hand-computed cases."""

from __future__ import annotations

import numpy as np
import pytest

from fingerprintml.gamma.features import average, compute, linfit
from fingerprintml.gamma.library import labels_from_name
from fingerprintml.gamma.preprocess import rebin, rebin_matrix, smooth
from fingerprintml.gamma.spectrum import Spectrum


def test_average_is_the_mean_rate_per_slice() -> None:
    rates = np.array([[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], [0.0, 0.0, 3.0, 1.0, 1.0, 1.0]])
    assert np.array_equal(average(rates, 3), [[2.0, 5.0], [1.0, 1.0]])
    assert np.array_equal(average(rates, 2), [[1.5, 3.5, 5.5], [0.0, 2.0, 1.0]])


def test_linfit_gives_slope_and_intercept_per_slice() -> None:
    # Slice 1: y = 1, 3, 5 (x = 0, 1, 2): slope 2, intercept 1. Slice 2: y = 4, 4, 7: by hand,
    # mean x 1, mean y 5, slope = ((-1)(-1) + 0 + (1)(2)) / 2 = 1.5, intercept = 5 - 1.5 = 3.5.
    rates = np.array([[1.0, 3.0, 5.0, 4.0, 4.0, 7.0]])
    assert linfit(rates, 3) == pytest.approx(np.array([[2.0, 1.0, 1.5, 3.5]]))
    assert np.polyfit(np.arange(3), rates[0, 3:], 1) == pytest.approx([1.5, 3.5])


def test_linfit_matches_polyfit_on_noisy_slices_and_counts_features() -> None:
    rates = np.random.default_rng(3).poisson(20, (4, 1500)) / 60.0
    features = compute(rates, {"method": "linfit", "slice_kev": 25})
    assert features.shape == (4, 120)
    slope, intercept = np.polyfit(np.arange(25), rates[2, 50:75], 1)
    assert features[2, 4:6] == pytest.approx([slope, intercept])
    assert compute(rates, {"method": "average", "slice_kev": 5}).shape == (4, 300)
    with pytest.raises(ValueError, match="does not divide"):
        average(rates, 7)


def test_rebin_shares_channels_by_overlap_and_keeps_counts() -> None:
    # Channels of 2 keV starting at 0.5 keV: channel 0 covers [0.5, 2.5): half a keV in bin 0, one in bin 1,
    # half in bin 2.
    matrix = rebin_matrix(3, (2.0, 0.5), 10).toarray()
    assert matrix[0, :3] == pytest.approx([0.25, 0.5, 0.25])
    assert matrix.sum(axis=1) == pytest.approx(1.0)
    counts = np.random.default_rng(0).poisson(30, 1200)
    binned = rebin([Spectrum(counts, 100.0, 101.0, 10.0, (1.31787, 0.12514))], 1500)
    inside = (1.31787 * np.arange(1, 1201) + 0.12514) <= 1500
    assert binned.counts.sum() == pytest.approx(counts[inside].sum(), rel=1e-3)
    assert binned.rates.sum() == pytest.approx(binned.counts.sum() / 100.0)


def test_smoothing_keeps_a_straight_line_and_is_optional() -> None:
    line = np.tile(np.linspace(0, 5, 100), (2, 1))
    assert smooth(line, 7, 2) == pytest.approx(line)
    assert smooth(line, None) is line


def test_labels_from_file_names() -> None:
    nuclides = ["Na-22", "Co-60", "Cs-137", "Eu-152", "Am-241"]
    assert labels_from_name("src_00012_Co-60+Am-241.sps", nuclides).tolist() == [0, 1, 0, 0, 1]
    assert labels_from_name("cs137_eu152_10cm.sps", nuclides).tolist() == [0, 0, 1, 1, 0]
    assert labels_from_name("Co600_background.sps", nuclides).tolist() == [0, 0, 0, 0, 0]
