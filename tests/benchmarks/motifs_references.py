"""Agreement of the motifs Debye model with DebyeCalculator and PDFfit2, as tested in
tests/unit/test_motifs_references.py: one table of Rw-like differences over r = 1.6-10 A (target 1e-3).

    PYTHONPATH=$PWD/src .venv/bin/python tests/benchmarks/motifs_references.py
"""

from __future__ import annotations

import numpy as np

from fingerprintml.motifs.debye import debye_gr
from fingerprintml.motifs.demo import keggin
from tests.unit.test_motifs_references import (
    R,
    keggin_against_debyecalculator,
    keggin_jeong_rdf,
    neutron_settings,
    pdffit2_rdf,
    rw_like,
)


def debyecalculator_row() -> float:
    cluster, r, reference, settings = keggin_against_debyecalculator()
    return rw_like(debye_gr(cluster.xyz, cluster.elements, settings, r), reference)


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
    debye = debye_gr(cluster.xyz, cluster.elements, neutron_settings(), R)
    return rw_like(keggin_jeong_rdf(), reference), rw_like(debye, reference / R)


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
