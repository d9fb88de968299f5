"""The Debye model against independent codes: PDFfit2 for the Jeong peak width (delta1, delta2, Qbroad, msd from Biso
per element) and DebyeCalculator for the x-ray f(Q) weights, Q grid, Qdamp and normalisation; and the peak width
formula against its closed form. Agreement is Rw-like, sqrt(sum (a - b)^2 / sum b^2), over the paper's r range."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from fingerprintml.motifs.debye import PDFSettings, debye_gr, jeong_sigma2, pair_table
from fingerprintml.motifs.demo import keggin
from fingerprintml.motifs.structure import Cluster

R = np.round(np.arange(1.6, 10.0 + 1e-9, 0.01), 6)
WIDTHS = {"delta1": 0.3, "delta2": 1.2, "qbroad": 0.02}
BISO = {"W": 0.3, "O": 0.9}
BOX = 100.0  # A: the cubic cell PDFfit2 computes the cluster in; periodic images are > 80 A away


def rw_like(ours: np.ndarray, reference: np.ndarray) -> float:
    return float(np.sqrt(np.sum((ours - reference) ** 2) / np.sum(reference**2)))


def pdffit2_rdf(elements: list[str], xyz: np.ndarray) -> np.ndarray:
    """PDFfit2's R(r) = r G(r) + 4 pi r^2 rho0 of a cluster in a large empty box: its sum of pair Gaussians (neutron
    weights, no Qmax termination, no Qdamp), with the Jeong widths WIDTHS and Biso BISO."""
    from diffpy.pdffit2 import PdfFit, redirect_stdout
    from diffpy.structure import Atom, Lattice, Structure

    redirect_stdout(open(os.devnull, "w"))  # noqa: SIM115 - PDFfit2 keeps writing to it
    fractional = (xyz - xyz.mean(axis=0)) / BOX + 0.5
    structure = Structure(
        [Atom(e, f) for e, f in zip(elements, fractional, strict=True)], lattice=Lattice(BOX, BOX, BOX, 90, 90, 90)
    )
    for atom in structure:
        atom.Uisoequiv = BISO[atom.element] / (8 * np.pi**2)
    fit = PdfFit()
    fit.add_structure(structure)
    fit.alloc("N", 0.0, 0.0, R[0], R[-1], len(R))
    for name, value in WIDTHS.items():
        fit.setvar(name, value)
    fit.calc()
    r, g = np.array(fit.getR()), np.array(fit.getpdf_fit())
    np.testing.assert_allclose(r, R, atol=1e-9)
    return r * g + 4 * np.pi * r**2 * len(elements) / BOX**3


def neutron_settings(**changes) -> PDFSettings:
    return PDFSettings(
        **{"qmin": 0.0, "qmax": 60.0, "qdamp": 0.0, "qstep": 0.01, "biso": BISO, "scattering": "neutron", **WIDTHS}
        | changes
    )


@pytest.mark.parametrize("distance", [1.9, 3.7, 5.6, 9.0])
def test_a_pair_has_pdffit2s_peak(distance: float) -> None:
    """A W-O pair: the Debye G(r) times the pair distance (the full-Q limit: Gaussian(r - d) - Gaussian(r + d), the
    second negligible) equals PDFfit2's R(r), a Gaussian of the Jeong width, to 1e-3."""
    xyz = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, distance]])
    reference = pdffit2_rdf(["W", "O"], xyz)
    ours = distance * debye_gr(xyz, ["W", "O"], neutron_settings(), R)
    assert rw_like(ours, reference) < 1e-3
    # Without the width terms the peak is visibly different: the check sees them.
    plain = distance * debye_gr(xyz, ["W", "O"], neutron_settings(delta1=0.0, delta2=0.0, qbroad=0.0), R)
    assert rw_like(plain, reference) > 3e-3


def keggin_jeong_rdf() -> np.ndarray:
    """The W12O40 Keggin's R(r) on :data:`R` as a sum of Gaussians of our Jeong widths (neutron weights)."""
    cluster = keggin()
    settings = neutron_settings()
    i, j, d = pair_table(cluster.xyz)
    u = settings.uiso(cluster.elements)
    sigma = np.sqrt(jeong_sigma2(u[i] + u[j], d, settings))
    b = {"W": 4.755, "O": 5.8037}
    weight = np.array([b[e] for e in cluster.elements])
    amplitude = 2 * weight[i] * weight[j] / (weight.sum() ** 2 / len(weight))
    gauss = np.exp(-0.5 * ((R[:, None] - d) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
    return gauss @ amplitude


def test_the_keggins_pair_widths_are_pdffit2s() -> None:
    """Every pair of the W12O40 Keggin: the sum of Gaussians of our Jeong widths is PDFfit2's R(r) to 1e-3."""
    cluster = keggin()
    assert rw_like(keggin_jeong_rdf(), pdffit2_rdf(list(cluster.elements), cluster.xyz)) < 1e-3


def test_the_jeong_width_in_closed_form() -> None:
    """sigma^2 = msd (1 - delta1/r - delta2/r^2 + Qbroad^2 r^2): a W-W pair (Biso 0.4 each, msd 0.0101 A^2) with
    Qbroad 0.01 alone is 1.0001x msd at 1 A and 2x msd at 100 A; delta1 and delta2 alone sharpen as 1/r and 1/r^2;
    a factor below zero gives a zero width."""
    msd = 2 * 0.4 / (8 * np.pi**2)
    r = np.array([1.0, 3.5, 10.0, 100.0])
    qbroad = jeong_sigma2(np.full(4, msd), r, PDFSettings(qmin=0.7, qmax=20, qdamp=0, qbroad=0.01))
    np.testing.assert_allclose(qbroad / msd, [1.0001, 1.001225, 1.01, 2.0], rtol=1e-12)
    delta1 = jeong_sigma2(np.full(4, msd), r, PDFSettings(qmin=0.7, qmax=20, qdamp=0, delta1=0.5))
    np.testing.assert_allclose(delta1 / msd, 1 - 0.5 / r, rtol=1e-12)
    delta2 = jeong_sigma2(np.full(4, msd), r, PDFSettings(qmin=0.7, qmax=20, qdamp=0, delta2=2.0))
    np.testing.assert_allclose(delta2 / msd, [0.0, 1 - 2 / 3.5**2, 0.98, 1 - 2e-4], rtol=1e-12)


def test_the_debye_peak_is_the_closed_form_pair_of_gaussians() -> None:
    """Over the full Q range the Debye term of one pair is (Gaussian(r - d) - Gaussian(r + d)) / d times its weight,
    with sigma from the Jeong width: the engine's Q sum and envelope against the closed form."""
    settings = neutron_settings(qdamp=0.04)
    d = 2.9
    xyz = np.array([[0.0, 0.0, 0.0], [d, 0.0, 0.0]])
    sigma = np.sqrt(jeong_sigma2(np.array([2 * 0.3 / (8 * np.pi**2)]), np.array([d]), settings))[0]
    pair = np.exp(-0.5 * ((R - d) / sigma) ** 2) - np.exp(-0.5 * ((R + d) / sigma) ** 2)
    expected = pair / (np.sqrt(2 * np.pi) * sigma * d) * np.exp(-0.5 * (0.04 * R) ** 2)  # two W: 2 b^2 / (2 b^2) = 1
    assert rw_like(debye_gr(xyz, ["W", "W"], settings, R), expected) < 1e-4  # exp(-sigma^2 Qmax^2 / 2) ~ 2e-5


def keggin_against_debyecalculator() -> tuple[Cluster, np.ndarray, np.ndarray, PDFSettings]:
    """The W12O40 Keggin, the r points 1.6-10 A, DebyeCalculator's G(r) there times 2 (it sums each pair once,
    srreal and PDFfit2 twice) and our settings of the same f(Q) (Waasmaier-Kirfel), Q grid, Qdamp and Biso."""
    from debyecalculator import DebyeCalculator

    cluster = keggin()
    calculator = DebyeCalculator(
        qmin=0.7, qmax=20.0, qstep=0.05, qdamp=0.05, biso=0.4, rmin=0.0, rmax=10.01, rstep=0.01, device="cpu",
        dtype=torch.float64, pair_sum="direct",
    )  # fmt: skip
    r, g = (np.asarray(a) for a in calculator.gr((list(cluster.elements), cluster.xyz)))
    window = (r >= 1.6 - 1e-9) & (r <= 10.0 + 1e-9)
    settings = PDFSettings(qmin=0.7, qmax=20.0, qdamp=0.05, qstep=0.05, biso_default=0.4)
    return cluster, r[window], 2 * g[window], settings


def test_the_keggin_pdf_is_debyecalculators() -> None:
    """Same f(Q) (Waasmaier-Kirfel), Q grid, Qdamp and Biso, Qbroad = 0: the W12O40 Keggin's G(r) is
    DebyeCalculator's times 2 (DebyeCalculator sums each pair once, srreal and PDFfit2 twice) to 1e-3."""
    cluster, r, reference, settings = keggin_against_debyecalculator()
    ours = debye_gr(cluster.xyz, cluster.elements, settings, r)
    assert rw_like(ours, reference) < 1e-3
    # Other weights (neutron lengths) would not pass: the check sees the scattering factors.
    constant = PDFSettings(**{**settings.__dict__, "scattering": "neutron"})
    assert rw_like(debye_gr(cluster.xyz, cluster.elements, constant, r), reference) > 5e-3
