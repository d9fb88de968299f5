"""The shared figure style and atomic saving of PDF and PNG."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt

from fingerprintml.plotting import COLUMN_WIDTH, figure, save_figure


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


def test_figure_has_journal_column_width():
    fig, _ = figure("double", aspect=0.5)
    width, height = fig.get_size_inches()
    assert width == COLUMN_WIDTH["double"]
    assert height == COLUMN_WIDTH["double"] * 0.5
    plt.close(fig)


def test_save_figure_is_reproducible(tmp_path: Path):
    paths = []
    for name in ("a", "b"):
        fig, ax = figure()
        ax.plot([0, 1, 2], [0, 1, 4])
        paths.append((tmp_path / f"{name}.pdf", tmp_path / f"{name}.png"))
        save_figure(fig, *paths[-1])
    assert paths[0][0].read_bytes() == paths[1][0].read_bytes()
    assert paths[0][1].read_bytes() == paths[1][1].read_bytes()
