"""The Debye-equation PDF: peak positions, zoom, composition normalisation (per Q with f(Q) weights), bad input;
the checks against PDFfit2 and DebyeCalculator are in test_motifs_references.py."""

from __future__ import annotations

import numpy as np
import pytest

from fingerprintml.motifs.debye import PDFSettings, debye_gr
from fingerprintml.motifs.demo import keggin

SETTINGS = PDFSettings(qmin=0.7, qmax=20.0, qdamp=0.05, qbroad=0.01, biso_default=0.4, qstep=0.05)
R = np.arange(1.0, 10.0, 0.01)


def test_a_pair_gives_a_peak_at_its_distance_and_zoom_moves_it() -> None:
    dimer = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 3.5]])
    g = debye_gr(dimer, ["W", "W"], SETTINGS, R)
    assert R[np.argmax(g)] == pytest.approx(3.5, abs=0.011)
    zoomed = debye_gr(dimer, ["W", "W"], SETTINGS, R, zoom=1.01)
    assert R[np.argmax(zoomed)] == pytest.approx(3.535, abs=0.011)


def test_larger_biso_broadens_and_lowers_the_peak() -> None:
    dimer = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0]])
    sharp = debye_gr(dimer, ["W", "O"], SETTINGS, R)
    broad = debye_gr(dimer, ["W", "O"], PDFSettings(**{**SETTINGS.__dict__, "biso_default": 1.5}), R)
    assert broad.max() < 0.8 * sharp.max()


def test_normalisation_follows_the_composition() -> None:
    """Two copies of a cluster far apart have the same normalised G(r) in range as one copy: N <f>^2 doubles with
    the intra-cluster pair sum."""
    cluster = keggin()
    single = debye_gr(cluster.xyz, cluster.elements, SETTINGS, R)
    double_xyz = np.vstack([cluster.xyz, cluster.xyz + np.array([500.0, 0.0, 0.0])])
    double = debye_gr(double_xyz, np.concatenate([cluster.elements] * 2), SETTINGS, R)
    np.testing.assert_allclose(double, single, atol=2e-3 * np.abs(single).max())


def test_unknown_element_is_named() -> None:
    with pytest.raises(ValueError, match="Xx"):
        debye_gr(np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]), ["W", "Xx"], SETTINGS, R)
