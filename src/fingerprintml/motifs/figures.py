"""Figures of the motifs study."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from fingerprintml.io import read_json, read_table
from fingerprintml.motifs.layout import FIGURE_FILES
from fingerprintml.motifs.tables import read_atom_table
from fingerprintml.plotting import OKABE_ITO, figure

# Figure name -> the inputs it reads (names of the figure rule's inputs).
FIGURE_INPUTS = {name: tuple(files) for name, files in FIGURE_FILES.items()}


def shap_summary(features: pd.DataFrame, shap_table: pd.DataFrame, max_display: int):
    """Beeswarm-style SHAP summary: per feature (largest mean |SHAP| first), SHAP values coloured by presence."""
    order = shap_table.abs().mean().sort_values(ascending=False).index[:max_display]
    fig, ax = figure("single", aspect=0.25 + 0.06 * len(order))
    rng = np.random.default_rng(0)
    for row, name in enumerate(order[::-1]):
        values = shap_table[name].to_numpy()
        present = features[name].to_numpy()
        colour = (present - present.min()) / max(np.ptp(present), 1)
        jitter = rng.uniform(-0.3, 0.3, size=len(values))
        ax.scatter(values, row + jitter, c=colour, cmap="coolwarm", s=1, alpha=0.5, rasterized=True, vmin=0, vmax=1)
    ax.set_yticks(range(len(order)), [name.replace("atom_", "atom ") for name in order[::-1]])
    ax.axvline(0, color="0.5", lw=0.5)
    ax.set_xlabel("SHAP value (effect on predicted Rw)")
    ax.set_title("blue: atom removed (low count), red: kept (high count)")
    return fig


def acv_per_atom(atoms: pd.DataFrame, spread_factor: float):
    """ACV of each removable atom with its spread (grey) and its bootstrap interval (black) as error bars; motif
    atoms highlighted."""
    scored = atoms.dropna(subset=["acv"])
    fig, ax = figure("double", aspect=0.3)
    colours = np.where(scored["in_motif"], OKABE_ITO[3], OKABE_ITO[0])
    ax.errorbar(scored["index"], scored["acv"], yerr=spread_factor * scored["spread"], fmt="none", ecolor="0.6", lw=0.6)
    interval = np.vstack([scored["acv"] - scored["acv_low"], scored["acv_high"] - scored["acv"]]).clip(min=0)
    ax.errorbar(scored["index"] + 0.25, scored["acv"], yerr=interval, fmt="none", ecolor="k", lw=0.8)
    ax.scatter(scored["index"], scored["acv"], c=colours, s=8, zorder=3)
    ax.axhline(0, color="0.3", lw=0.5)
    ax.set_xlabel("atom index")
    ax.set_ylabel("ACV (Rw)")
    ax.set_title(f"red: motif (ACV + {spread_factor:g} x spread < 0); grey: spread, black: bootstrap interval")
    return fig


# In-motif probability classes of the structure figure: (lowest probability, marker, label), highest first.
PROBABILITY_MARKERS = ((0.9, "o", "p >= 0.9"), (0.1, "^", "0.1 < p < 0.9"), (0.0, "s", "p <= 0.1"))


def probability_class(p_in_motif: np.ndarray) -> np.ndarray:
    """Index into :data:`PROBABILITY_MARKERS` of each in-motif probability (0: >= 0.9, 1: between, 2: <= 0.1)."""
    return np.where(p_in_motif >= 0.9, 0, np.where(p_in_motif > 0.1, 1, 2))


def structure_projection(atoms: pd.DataFrame):
    """The structure projected on its two main axes: removable atoms coloured by ACV, the marker giving the
    bootstrap's in-motif probability (circle >= 0.9, triangle in between, square <= 0.1), motif atoms outlined."""
    xyz = atoms[["x", "y", "z"]].to_numpy()
    centred = xyz - xyz.mean(axis=0)
    axes = np.linalg.svd(centred, full_matrices=False)[2][:2]
    xy = centred @ axes.T
    fig, ax = figure("single", aspect=1.0)
    scored = atoms["acv"].notna().to_numpy()
    ax.scatter(xy[~scored, 0], xy[~scored, 1], s=6, c="0.75", label="not removable")
    limit = np.nanmax(np.abs(atoms["acv"])) if scored.any() else 1.0
    classes = probability_class(atoms["p_in_motif"].to_numpy())
    points = None
    for number, (_, marker, label) in enumerate(PROBABILITY_MARKERS):
        rows = scored & (classes == number)
        if rows.any():
            points = ax.scatter(
                xy[rows, 0],
                xy[rows, 1],
                s=28,
                marker=marker,
                c=atoms.loc[rows, "acv"],
                cmap="coolwarm",
                vmin=-limit,
                vmax=limit,
                label=f"in-motif {label}",
            )
    motif = atoms["in_motif"].to_numpy()
    ax.scatter(xy[motif, 0], xy[motif, 1], s=60, facecolors="none", edgecolors="k", linewidths=0.6, label="motif")
    if points is not None:
        fig.colorbar(points, ax=ax, label="ACV")
    ax.set_aspect("equal")
    ax.set_xlabel("principal axis 1 (A)")
    ax.set_ylabel("principal axis 2 (A)")
    ax.legend(loc="upper right", fontsize="x-small")
    return fig


def rw_histogram(fits: pd.DataFrame, motif_rw: float):
    """Distribution of the catalogue's Rw, with the motif fit's Rw marked."""
    fig, ax = figure("single")
    ax.hist(fits["rw"], bins=60, color=OKABE_ITO[0])
    ax.axvline(motif_rw, color=OKABE_ITO[3], lw=1, label=f"motif fit, Rw = {motif_rw:.3f}")
    ax.set_xlabel("Rw")
    ax.set_ylabel("cut-outs")
    ax.legend()
    return fig


def motif_fit(profile: pd.DataFrame, result: dict):
    """Gobs, Gcalc of the motif fit and their difference (offset below)."""
    fig, ax = figure("single")
    offset = profile[["gobs", "gcalc"]].to_numpy().min() - 1.2 * np.abs(profile["difference"]).max()
    ax.plot(profile["r"], profile["gobs"], "o", ms=1.5, mfc="none", color=OKABE_ITO[0], label="Gobs")
    ax.plot(profile["r"], profile["gcalc"], color=OKABE_ITO[3], label="Gcalc")
    ax.plot(profile["r"], profile["difference"] + offset, color="0.4", label="difference")
    ax.axhline(offset, color="0.7", lw=0.5)
    ax.set_xlabel("r (A)")
    ax.set_ylabel("G(r)")
    ax.set_title(f"motif fit: {result['n_atoms']} atoms, Rw = {result['rw']:.3f}")
    ax.legend(loc="upper right")
    return fig


def draw(name: str, inputs: Mapping[str, str], *, max_display: int, spread_factor: float):
    """The figure ``name`` (a key of :data:`FIGURE_INPUTS`) from the files ``inputs`` names.

    Parameters
    ----------
    name
        The figure.
    inputs
        Paths by input name; the figure reads those of ``FIGURE_INPUTS[name]``.
    max_display
        Features shown in the SHAP summary.
    spread_factor
        The motif rule's spread factor (error bars of the ACV figure).
    """
    if name not in FIGURE_INPUTS:
        raise ValueError(f"unknown motifs figure {name!r}; known: {', '.join(FIGURE_INPUTS)}")
    missing = [key for key in FIGURE_INPUTS[name] if key not in inputs]
    if missing:
        raise ValueError(f"figure {name!r} needs input(s) {missing}")
    if name == "shap_summary":
        return shap_summary(read_table(inputs["features"]), read_table(inputs["shap"]), max_display)
    if name == "acv_per_atom":
        return acv_per_atom(read_atom_table(inputs["atoms"]), spread_factor)
    if name == "structure_acv":
        return structure_projection(read_atom_table(inputs["atoms"]))
    if name == "rw_distribution":
        return rw_histogram(read_table(inputs["fits"]), read_json(inputs["result"])["rw"])
    return motif_fit(read_table(inputs["profile"]), read_json(inputs["result"]))
