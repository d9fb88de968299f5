"""The fast engine agrees with the diffpy.srfit reference engine, and recovers known parameters."""

from __future__ import annotations

import numpy as np
import pytest

from fingerprintml.motifs.catalogue import build_catalogue
from fingerprintml.motifs.debye import PDFSettings, debye_gr
from fingerprintml.motifs.demo import keggin_with_decoys, simulate_pdf
from fingerprintml.motifs.fitting import FitSettings, RefineSettings, fit_masks, refine_structure, rw

PDF = PDFSettings(qmin=0.7, qmax=20.0, qdamp=0.05, qbroad=0.01, biso_default=0.4, qstep=0.05)
FIT = FitSettings(rmin=1.6, rmax=10.0, zoom_min=0.99, zoom_max=1.01)
R = np.round(np.arange(0.0, 12.0, 0.01), 6)


@pytest.fixture(scope="module")
def demo():
    cluster, planted = keggin_with_decoys(2)
    g = simulate_pdf(cluster.subset(planted), PDF, R, scale=1.3, zoom=1.004, noise=0.02, rng=np.random.default_rng(5))
    return cluster, planted, g


def test_fast_engine_matches_srfit_on_a_random_sample(demo) -> None:
    cluster, _, g = demo
    masks = build_catalogue(cluster, ["W"], 2.5, 200, np.random.default_rng(11))
    sample = masks[np.random.default_rng(3).choice(len(masks), size=4, replace=False)]
    fast = fit_masks(cluster, sample, R, g, pdf=PDF, fit=FIT, engine="fast")
    reference = fit_masks(cluster, sample, R, g, pdf=PDF, fit=FIT, engine="srfit")
    np.testing.assert_allclose(fast["rw"], reference["rw"], atol=1e-3)
    np.testing.assert_allclose(fast["scale"], reference["scale"], rtol=1e-3)


def test_fast_engine_recovers_the_planted_parameters(demo) -> None:
    cluster, planted, g = demo
    full = np.ones(len(cluster), dtype=bool)
    result = fit_masks(cluster, np.array([planted, full]), R, g, pdf=PDF, fit=FIT, engine="fast")
    assert result.loc[0, "zoom"] == pytest.approx(1.004, abs=2e-4)
    assert result.loc[0, "scale"] == pytest.approx(1.3, rel=0.01)
    noiseless = simulate_pdf(
        cluster.subset(planted), PDF, R, scale=1.3, zoom=1.004, noise=0.0, rng=np.random.default_rng(5)
    )
    window = (R >= 1.6) & (R <= 10.0)
    assert result.loc[0, "rw"] <= rw(g[window], noiseless[window]) + 1e-3
    assert result.loc[1, "rw"] > result.loc[0, "rw"] + 0.05


def test_fast_engine_rejects_what_it_cannot_refine(demo) -> None:
    cluster, planted, g = demo
    fit = FitSettings(rmin=1.6, rmax=10.0, zoom_min=0.99, zoom_max=1.01, refine_delta2=True)
    with pytest.raises(ValueError, match="srfit"):
        fit_masks(cluster, planted[None, :], R, g, pdf=PDF, fit=fit, engine="fast")


def test_srreal_engine_errors_clearly_without_diffpy_srreal(demo) -> None:
    """diffpy.srreal is not installable in this virtualenv; the engine names what is missing and the way out."""
    cluster, planted, g = demo
    with pytest.raises(RuntimeError, match=r"diffpy\.srreal"):
        fit_masks(cluster, planted[None, :], R, g, pdf=PDF, fit=FIT, engine="srreal")


def test_refinement_recovers_axis_zooms_biso_per_element_and_delta2_with_their_uncertainties() -> None:
    """The PDF of a Keggin with one decoy octahedron (not cubic: the three axes are told apart) with zooms (1.012,
    0.992, 1.004), Biso W 0.25 and O 0.9, delta2 1.5 and 1 % noise: the refined values lie within 3 standard
    uncertainties of the truth, and the uncertainties are below half the value but not zero."""
    cluster = keggin_with_decoys(1)[0]
    truth = {"zoom_a": 1.012, "zoom_b": 0.992, "zoom_c": 1.004, "biso_O": 0.9, "biso_W": 0.25, "delta2": 1.5}
    planted = PDF.with_values(**{k: v for k, v in truth.items() if not k.startswith("zoom")})
    r = R[(R >= 1.6) & (R <= 10.0)]
    g = 1.3 * debye_gr(cluster.xyz, cluster.elements, planted, r, (truth["zoom_a"], truth["zoom_b"], truth["zoom_c"]))
    g = g + np.random.default_rng(2).normal(0.0, 0.01 * np.abs(g).max(), len(g))
    result, gcalc = refine_structure(cluster, r, g, PDF, RefineSettings(zoom_axes="abc", width=("delta2",)), starts=1)
    assert result["rw"] == pytest.approx(rw(g, gcalc))
    assert result["scale"] == pytest.approx(1.3, abs=3 * result["scale_std"])
    for name, value in truth.items():
        assert 0 < result[f"{name}_std"] < 0.5 * abs(value)
        assert result[name] == pytest.approx(value, abs=3 * result[f"{name}_std"]), name
