"""The interactive view: one self-contained HTML file (plotly.js inside, no network) holding every atom, its ACV
colour, its in-motif probability class and its bonds."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from fingerprintml.motifs.demo import keggin_with_decoys
from fingerprintml.motifs.interactive import structure_figure, write_structure_html


def _atoms() -> pd.DataFrame:
    cluster, planted = keggin_with_decoys(2)
    w = cluster.elements == "W"
    acv = np.where(w, np.where(planted, -0.02, 0.01), np.nan)
    p_in_motif = np.where(planted, 1.0, np.where(w, 0.5, 0.0))
    return pd.DataFrame(
        {
            "index": np.arange(len(cluster)),
            "element": cluster.elements,
            "x": cluster.xyz[:, 0],
            "y": cluster.xyz[:, 1],
            "z": cluster.xyz[:, 2],
            "acv": acv,
            "spread": np.where(w, 0.004, np.nan),
            "in_motif": planted,
            "acv_low": acv - 0.003,
            "acv_high": acv + 0.003,
            "p_in_motif": p_in_motif,
        }
    )


def test_the_html_file_is_self_contained_and_holds_every_atom(tmp_path: Path) -> None:
    atoms = _atoms()
    path = tmp_path / "structure_acv.html"
    write_structure_html(atoms, path, bond_cutoff=2.5, title="demo")
    html = path.read_text()
    assert not re.search(r'<script[^>]*src="https?://', html)  # nothing loaded from the network
    assert len(html) > 1_000_000  # plotly.js is embedded
    # The figure's JSON escapes "<" as \u003c.
    for row in atoms.itertuples():
        assert f"atom {row.index} {row.element}\\u003cbr\\u003e" in html
    assert "ACV -0.0200 [-0.0230, -0.0170]" in html


def test_the_figure_places_each_atom_with_its_acv_and_probability_class() -> None:
    atoms = _atoms()
    traces = {trace.name: trace for trace in structure_figure(atoms, bond_cutoff=2.5, title="demo").data}
    assert set(traces) == {"bonds", "not removable", "in-motif p >= 0.9", "in-motif 0.1 < p < 0.9"}
    planted_w = atoms[(atoms["element"] == "W") & atoms["in_motif"]]
    certain = traces["in-motif p >= 0.9"]
    np.testing.assert_allclose(certain.x, planted_w["x"])
    np.testing.assert_allclose(certain.marker.color, planted_w["acv"])
    assert certain.marker.symbol == "circle" and traces["in-motif 0.1 < p < 0.9"].marker.symbol == "diamond"
    assert len(traces["in-motif 0.1 < p < 0.9"].x) == 2  # the two decoy W
    assert len(traces["not removable"].x) == (atoms["element"] == "O").sum()
    # Each W-O bond of the Keggin (12 x 6 within 2.5 A, less none) is one line segment: 3 points with a gap.
    bonds = traces["bonds"]
    assert len(bonds.x) % 3 == 0 and np.isnan(np.asarray(bonds.x, dtype=float)[2::3]).all()
    assert len(bonds.x) // 3 >= 12 * 6
