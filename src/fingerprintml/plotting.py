"""One matplotlib style for every figure: journal column widths, readable fonts, colour-blind-safe colours."""

from __future__ import annotations

import os

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
from matplotlib import cycler

from fingerprintml.io import atomic_path

# Okabe & Ito (2008), "Color Universal Design": distinguishable under the common colour-vision deficiencies.
OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

# Figure widths in inches of a single and a double journal column (Elsevier/ACS/Nature all within 0.1 in).
COLUMN_WIDTH = {"single": 3.5, "double": 7.2}

STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "axes.prop_cycle": cycler(color=OKABE_ITO),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.linewidth": 0.6,
    "lines.linewidth": 1.0,
    "lines.markersize": 3,
    "savefig.dpi": 300,
    # Saved at the figure's own size (a column width), not cropped to its content: constrained layout fits the labels,
    # legends and titles inside the figure, so a PDF placed at 100% has the fonts at the sizes set here.
    "figure.constrained_layout.use": True,
    "pdf.fonttype": 42,
    "image.cmap": "viridis",
    "svg.hashsalt": "fingerprintml",
}
plt.rcParams.update(STYLE)


def figure(width: str = "single", aspect: float = 0.75, nrows: int = 1, ncols: int = 1, **kwargs):
    """A figure of a journal column ``width`` ('single' or 'double') and height = width * ``aspect``, laid out by
    constrained layout (unless ``kwargs`` ask for another); saved at exactly that size by :func:`save_figure`."""
    w = COLUMN_WIDTH[width]
    return plt.subplots(nrows, ncols, figsize=(w, w * aspect), **kwargs)


def save_figure(fig, pdf: str | os.PathLike[str], png: str | os.PathLike[str]) -> None:
    """Save ``fig`` as vector PDF and 300 dpi PNG at the figure's size, atomically, then close it."""
    metadata = {"CreationDate": None}
    with atomic_path(pdf) as tmp:
        fig.savefig(tmp, format="pdf", metadata=metadata)
    with atomic_path(png) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
    plt.close(fig)
