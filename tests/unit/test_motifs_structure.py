"""Reading and writing structures and PDF files, with clear errors for bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fingerprintml.motifs.demo import keggin
from fingerprintml.motifs.structure import read_gr, read_structure, read_xyz, write_cif, write_gr, write_xyz

ML_MOTEX = "AndySAnker/ML-MotEx/c85a43af194cd6ccb23f28bcb3585a6fb5bff2ec"


def test_paper_files_are_read(mirror: Path) -> None:
    r, g = read_gr(mirror / ML_MOTEX / "Experimental_Data" / "DanMAX_AlphaKeggin.gr")
    assert r[0] == 0.0 and r[-1] == pytest.approx(30.0) and len(r) == 3001
    assert np.abs(g).max() > 0.1
    cluster = read_xyz(mirror / ML_MOTEX / "Structure_Models" / "109725.xyz")
    assert len(cluster) == 104 and (cluster.elements[:24] == "W").all() and (cluster.elements[24:] == "O").all()


def test_ideal_keggin_geometry() -> None:
    cluster = keggin()
    assert len(cluster) == 52 and (cluster.elements == "W").sum() == 12
    d = np.linalg.norm(cluster.xyz[:, None] - cluster.xyz[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    w = cluster.elements == "W"
    assert d[np.ix_(w, ~w)].min(axis=0).max() < 2.45  # every O is bonded to a W
    assert d[np.ix_(w, w)].min() == pytest.approx(3.55)


def test_round_trips(tmp_path: Path) -> None:
    from diffpy.structure import loadStructure

    cluster = keggin()
    write_xyz(cluster, tmp_path / "k.xyz")
    again = read_xyz(tmp_path / "k.xyz")
    np.testing.assert_allclose(again.xyz, cluster.xyz, atol=1e-6)
    write_cif(cluster, tmp_path / "k.cif", "keggin")
    from_cif = read_structure(tmp_path / "k.cif")
    assert list(from_cif.elements) == list(cluster.elements)
    shift = from_cif.xyz - cluster.xyz
    np.testing.assert_allclose(shift, shift[:1].repeat(len(shift), axis=0), atol=1e-4)
    assert len(loadStructure(str(tmp_path / "k.cif"))) == 52
    write_gr(np.arange(20) * 0.1, np.sin(np.arange(20)), tmp_path / "d.gr", "demo")
    r, g = read_gr(tmp_path / "d.gr")
    assert len(r) == 20 and g[3] == pytest.approx(np.sin(3))


def test_bad_files_are_named(tmp_path: Path) -> None:
    (tmp_path / "short.xyz").write_text("5\ncomment\nW 0 0 0\n")
    with pytest.raises(ValueError, match=r"short\.xyz.*truncated"):
        read_xyz(tmp_path / "short.xyz")
    (tmp_path / "bad.gr").write_text("# header\n" + "".join(f"{k * 0.1} {k}\n" for k in range(20)) + "0.5 abc\n")
    with pytest.raises(ValueError, match=r"bad\.gr: line 22"):
        read_gr(tmp_path / "bad.gr")
    (tmp_path / "unordered.gr").write_text("".join(f"{(k % 7) * 0.1} 1\n" for k in range(20)))
    with pytest.raises(ValueError, match="increasing"):
        read_gr(tmp_path / "unordered.gr")


def test_an_xyz_count_line_that_differs_from_its_atom_rows_is_refused_with_both_counts(
    mirror: Path, tmp_path: Path
) -> None:
    """The real 109725.xyz (104 atoms) with its count line edited to 80 and to 110: refused, never 80 atoms read."""
    lines = (mirror / ML_MOTEX / "Structure_Models" / "109725.xyz").read_text().splitlines()
    assert lines[0].split() == ["104"]
    for count, problem in ((80, "more than one frame, or a wrong count line"), (110, "a truncated file")):
        edited = tmp_path / f"count{count}.xyz"
        edited.write_text("\n".join([str(count), *lines[1:]]) + "\n\n")
        message = rf"count{count}\.xyz: the count line says {count} atoms but the file has 104 atom rows \({problem}\)"
        with pytest.raises(ValueError, match=message):
            read_structure(edited)
    assert len(read_xyz(mirror / ML_MOTEX / "Structure_Models" / "109725.xyz")) == 104
