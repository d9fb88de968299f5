"""Agreement of the motifs Debye model with DebyeCalculator and PDFfit2, as tested in
tests/unit/test_motifs_references.py: one table of Rw-like differences over r = 1.6-10 A (target 1e-3).

    PYTHONPATH=$PWD/src .venv/bin/python tests/benchmarks/motifs_references.py
"""

from __future__ import annotations

import numpy as np
import torch

from fingerprintml.motifs.debye import PDFSettings, debye_gr, jeong_sigma2, pair_table
from fingerprintml.motifs.demo import keggin
from tests.unit.test_motifs_references import R, neutron_settings, pdffit2_rdf, rw_like


def debyecalculator_row() -> float:
    from debyecalculator import DebyeCalculator

    cluster = keggin()
    calculator = DebyeCalculator(
        qmin=0.7, qmax=20.0, qstep=0.05, qdamp=0.05, biso=0.4, rmin=0.0, rmax=10.01, rstep=0.01, device="cpu",
        dtype=torch.float64, pair_sum="direct",
    )  # fmt: skip
    r, g = (np.asarray(a) for a in calculator.gr((list(cluster.elements), cluster.xyz)))
    window = (r >= 1.6 - 1e-9) & (r <= 10.0 + 1e-9)
    settings = PDFSettings(qmin=0.7, qmax=20.0, qdamp=0.05, qstep=0.05, biso_default=0.4)
    return rw_like(debye_gr(cluster.xyz, cluster.elements, settings, r[window]), 2 * g[window])


def pair_rows() -> list[tuple[float, float]]:
    rows = []
    for distance in (1.9, 3.7, 5.6, 9.0):
        xyz = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, distance]])
        ours = distance * debye_gr(xyz, ["W", "O"], neutron_settings(), R)
        rows.append((distance, rw_like(ours, pdffit2_rdf(["W", "O"], xyz))))
    return rows


def keggin_rows() -> tuple[float, float]:
    """The Keggin's R(r) as Gaussians of our widths against PDFfit2's, and the whole Debye G(r) against PDFfit2's
    G(r) (the Debye-versus-real-space peak shape difference)."""
    cluster = keggin()
    reference = pdffit2_rdf(list(cluster.elements), cluster.xyz)
    settings = neutron_settings()
    i, j, d = pair_table(cluster.xyz)
    u = settings.uiso(cluster.elements)
    sigma = np.sqrt(jeong_sigma2(u[i] + u[j], d, settings))
    weight = np.where(cluster.elements == "W", 4.755, 5.8037)
    amplitude = 2 * weight[i] * weight[j] / (weight.sum() ** 2 / len(weight))
    gauss = np.exp(-0.5 * ((R[:, None] - d) / sigma) ** 2) / (np.sqrt(2 * np.pi) * sigma)
    debye = debye_gr(cluster.xyz, cluster.elements, settings, R)
    return rw_like(gauss @ amplitude, reference), rw_like(debye, reference / R)


def main() -> None:
    print(f"{'check':<72} {'Rw-like':>9}")
    print(f"{'Keggin G(r), x-ray f(Q), Qmin 0.7, Qmax 20, Qdamp 0.05, Biso 0.4 vs DebyeCalculator x 2':<72} "
          f"{debyecalculator_row():>9.1e}")  # fmt: skip
    for distance, value in pair_rows():
        label = f"W-O pair at {distance} A, d G(r) vs PDFfit2 R(r) (delta1, delta2, Qbroad, Biso W/O)"
        print(f"{label:<72} {value:>9.1e}")
    widths, shape = keggin_rows()
    print(f"{'Keggin R(r): Gaussians of our Jeong widths vs PDFfit2':<72} {widths:>9.1e}")
    print(f"{'Keggin G(r): Debye (Qmax 60) vs PDFfit2 real-space G(r) (peak-shape convention)':<72} {shape:>9.1e}")


if __name__ == "__main__":
    main()
