"""The interactive view of the motif: the structure in 3D coloured by ACV, as one self-contained HTML file (plotly,
with plotly.js embedded, so it opens offline)."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from fingerprintml.io import atomic_path
from fingerprintml.motifs.figures import PROBABILITY_MARKERS, probability_class

# plotly's 3D marker symbols for the classes of PROBABILITY_MARKERS (circle, diamond, square).
SYMBOLS_3D = ("circle", "diamond", "square")


def _hover(atoms: pd.DataFrame) -> list[str]:
    """One hover label per atom: index, element, ACV with its bootstrap interval, in-motif probability."""
    labels = []
    for row in atoms.itertuples():
        label = f"atom {row.index} {row.element}"
        if not np.isnan(row.acv):
            label += f"<br>ACV {row.acv:.4f} [{row.acv_low:.4f}, {row.acv_high:.4f}]"
        labels.append(f"{label}<br>in-motif probability {row.p_in_motif:.2f}<br>in motif: {row.in_motif}")
    return labels


def structure_figure(atoms: pd.DataFrame, *, bond_cutoff: float, title: str) -> go.Figure:
    """The structure of an atom table (:func:`~fingerprintml.motifs.tables.read_atom_table`) in 3D: bonds (pairs
    closer than ``bond_cutoff``, A) as grey lines, atoms without ACV grey, removable atoms coloured by ACV with the
    marker giving the in-motif probability class; hovering an atom shows its numbers."""
    xyz = atoms[["x", "y", "z"]].to_numpy()
    # The catalogue's bond rule, without its module (which reads structures through diffpy).
    distances = np.linalg.norm(xyz[:, None, :] - xyz[None, :, :], axis=-1)
    first, second = np.nonzero(np.triu(distances < bond_cutoff, k=1))
    segments = np.full((3 * len(first), 3), np.nan)
    segments[0::3], segments[1::3] = xyz[first], xyz[second]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter3d(
            x=segments[:, 0],
            y=segments[:, 1],
            z=segments[:, 2],
            mode="lines",
            line={"color": "lightgrey", "width": 3},
            hoverinfo="skip",
            name="bonds",
        )
    )
    labels = np.array(_hover(atoms), dtype=object)
    scored = atoms["acv"].notna().to_numpy()
    fig.add_trace(
        go.Scatter3d(
            x=xyz[~scored, 0],
            y=xyz[~scored, 1],
            z=xyz[~scored, 2],
            mode="markers",
            marker={"size": 3, "color": "darkgrey"},
            text=labels[~scored],
            hoverinfo="text",
            name="not removable",
        )
    )
    limit = float(np.nanmax(np.abs(atoms["acv"]))) if scored.any() else 1.0
    classes = probability_class(atoms["p_in_motif"].to_numpy())
    shown = [number for number in range(len(PROBABILITY_MARKERS)) if (scored & (classes == number)).any()]
    for number in shown:
        rows, label = scored & (classes == number), PROBABILITY_MARKERS[number][2]
        fig.add_trace(
            go.Scatter3d(
                x=xyz[rows, 0],
                y=xyz[rows, 1],
                z=xyz[rows, 2],
                mode="markers",
                marker={
                    "size": 7,
                    "symbol": SYMBOLS_3D[number],
                    "color": atoms.loc[rows, "acv"].to_numpy(),
                    "colorscale": "RdBu_r",
                    "cmin": -limit,
                    "cmax": limit,
                    "colorbar": {"title": "ACV"},
                    "showscale": number == shown[0],
                },
                text=labels[rows],
                hoverinfo="text",
                name=f"in-motif {label}",
            )
        )
    fig.update_layout(title=title, scene={"aspectmode": "data"}, legend={"itemsizing": "constant"})
    return fig


def write_structure_html(atoms: pd.DataFrame, path: str | os.PathLike[str], *, bond_cutoff: float, title: str) -> None:
    """Write :func:`structure_figure` as a self-contained HTML file (plotly.js embedded), atomically.

    Parameters
    ----------
    atoms
        The atom table with the bootstrap's columns.
    path
        The HTML file.
    bond_cutoff
        Atoms closer than this (A) are drawn bonded.
    title
        The figure's title.
    """
    with atomic_path(path) as tmp:
        structure_figure(atoms, bond_cutoff=bond_cutoff, title=title).write_html(
            tmp, include_plotlyjs=True, full_html=True
        )
