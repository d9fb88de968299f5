"""The shared figure style and atomic saving of PDF and PNG."""

from __future__ import annotations

import re
import struct
from pathlib import Path

import matplotlib.pyplot as plt
import pytest

from fingerprintml.plotting import figure, save_figure


def test_save_figure_writes_pdf_and_png(tmp_path: Path):
    fig, ax = figure("single")
    ax.scatter([-4.1, -4.6, 6.2], [0.14, 0.14, 0.19])
    pdf, png = tmp_path / "fig" / "scatter.pdf", tmp_path / "fig" / "scatter.png"
    save_figure(fig, pdf, png)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert png.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert pdf.stat().st_size > 500
    assert png.stat().st_size > 500
    assert sorted(p.name for p in pdf.parent.iterdir()) == ["scatter.pdf", "scatter.png"]
    assert not plt.fignum_exists(fig.number)


def crowded_figure(width: str, aspect: float):
    """A figure with what pushes past its edges: axis labels, a title, a legend outside the axes."""
    fig, ax = figure(width, aspect=aspect)
    ax.plot([0, 1, 2], [0, 1, 4], label="a long legend entry")
    ax.set_xlabel(r"$\delta^{18}$O (per mil)")
    ax.set_ylabel("counts per channel")
    ax.set_title("the title of the panel")
    ax.legend(loc="center left", bbox_to_anchor=(1, 0.5))
    return fig


def pdf_size_inches(path: Path) -> tuple[float, float]:
    x0, y0, x1, y1 = map(
        float, re.search(rb"/MediaBox \[ *([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)", path.read_bytes()).groups()
    )
    return (x1 - x0) / 72, (y1 - y0) / 72


def png_size_pixels(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk."""
    return struct.unpack(">II", path.read_bytes()[16:24])


@pytest.mark.parametrize(("width", "aspect"), [("single", 0.75), ("double", 0.4)])
def test_saved_figure_is_a_journal_column_wide(tmp_path: Path, width: str, aspect: float):
    """The files have the column's size, whatever sticks out of the axes (a PDF placed at 100% keeps its fonts)."""
    inches = {"single": 3.5, "double": 7.2}[width]
    pdf, png = tmp_path / "fig.pdf", tmp_path / "fig.png"
    save_figure(crowded_figure(width, aspect), pdf, png)
    assert pdf_size_inches(pdf) == pytest.approx((inches, inches * aspect), abs=0.01)
    assert png_size_pixels(png) == pytest.approx((inches * 300, inches * aspect * 300), abs=1)


def test_labels_title_and_legend_stay_inside_the_figure():
    fig = crowded_figure("single", 0.75)
    fig.canvas.draw()
    x0, y0, x1, y1 = fig.get_tightbbox().extents
    width, height = fig.get_size_inches()
    plt.close(fig)
    assert (x0, y0) >= (-0.01, -0.01) and (x1, y1) <= (width + 0.01, height + 0.01)


def test_save_figure_is_reproducible(tmp_path: Path):
    paths = []
    for name in ("a", "b"):
        fig, ax = figure()
        ax.plot([0, 1, 2], [0, 1, 4])
        paths.append((tmp_path / f"{name}.pdf", tmp_path / f"{name}.png"))
        save_figure(fig, *paths[-1])
    assert paths[0][0].read_bytes() == paths[1][0].read_bytes()
    assert paths[0][1].read_bytes() == paths[1][1].read_bytes()
