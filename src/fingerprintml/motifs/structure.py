"""Cluster structures and PDF data files: reading them with checks, writing xyz (with extra columns) and CIF."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fingerprintml.io import atomic_path


@dataclass(frozen=True)
class Cluster:
    """A finite cluster: element symbols and Cartesian coordinates (A)."""

    elements: np.ndarray
    xyz: np.ndarray

    def __len__(self) -> int:
        return len(self.elements)

    def subset(self, mask: np.ndarray) -> Cluster:
        """The atoms selected by a boolean ``mask``."""
        return Cluster(self.elements[mask], self.xyz[mask])


def read_xyz(path: str | os.PathLike[str]) -> Cluster:
    """Read an .xyz file (count line, comment line, then ``element x y z`` rows).

    Parameters
    ----------
    path
        The file. A count line that differs from the number of atom rows (non-blank lines after the comment: more
        rows, e.g. a second frame, or fewer, a truncated file) is an error naming the file and both counts, so no
        atom is silently left out.
    """
    lines = Path(path).read_text().splitlines()
    try:
        count = int(lines[0].split()[0])
    except (IndexError, ValueError):
        raise ValueError(f"{path}: the first line must hold the atom count") from None
    rows = [line.split() for line in lines[2:] if line.strip()]
    if len(rows) != count:
        problem = "a truncated file" if len(rows) < count else "more than one frame, or a wrong count line"
        raise ValueError(
            f"{path}: the count line says {count} atoms but the file has {len(rows)} atom rows ({problem})"
        )
    if count < 1 or any(len(row) < 4 for row in rows):
        raise ValueError(f"{path}: expected {count} atom rows 'element x y z', found a short row or no atoms")
    try:
        xyz = np.array([[float(v) for v in row[1:4]] for row in rows])
    except ValueError as err:
        raise ValueError(f"{path}: non-numeric coordinate ({err})") from None
    if not np.isfinite(xyz).all():
        raise ValueError(f"{path}: non-finite coordinates")
    return Cluster(np.array([row[0].capitalize() for row in rows]), xyz)


def read_structure(path: str | os.PathLike[str]) -> Cluster:
    """Read a cluster from .xyz, or from .cif (the unit cell's atoms in Cartesian coordinates)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".xyz":
        return read_xyz(path)
    if suffix == ".cif":
        from diffpy.structure import loadStructure

        try:
            structure = loadStructure(str(path))
        except Exception as err:
            raise ValueError(f"{path}: not a readable CIF ({err})") from None
        elements = np.array([atom.element.rstrip("0123456789+-").capitalize() for atom in structure])
        return Cluster(elements, np.asarray(structure.xyz_cartn, dtype=float))
    raise ValueError(f"{path}: structure files must be .xyz or .cif")


def write_xyz(
    cluster: Cluster, path: str | os.PathLike[str], extra: pd.DataFrame | None = None, comment: str = ""
) -> None:
    """Write an .xyz file; ``extra`` columns (one row per atom) are appended to each atom row."""
    rows = []
    for k, (element, (x, y, z)) in enumerate(zip(cluster.elements, cluster.xyz, strict=True)):
        values = "" if extra is None else " " + " ".join(f"{v:.6g}" for v in extra.iloc[k])
        rows.append(f"{element} {x:.6f} {y:.6f} {z:.6f}{values}")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join([str(len(cluster)), comment, *rows]) + "\n")


def write_cif(cluster: Cluster, path: str | os.PathLike[str], name: str, padding: float = 10.0) -> None:
    """Write the cluster as a P1 CIF in a cubic box ``padding`` A wider than the cluster on every side."""
    low = cluster.xyz.min(axis=0) - padding
    edge = float((cluster.xyz.max(axis=0) - low + padding).max())
    fractional = (cluster.xyz - low) / edge
    counts: dict[str, int] = {}
    lines = [
        f"data_{name}",
        "_symmetry_space_group_name_H-M 'P 1'",
        "_symmetry_Int_Tables_number 1",
        *[f"_cell_length_{axis} {edge:.4f}" for axis in "abc"],
        *[f"_cell_angle_{angle} 90.0" for angle in ("alpha", "beta", "gamma")],
        "loop_",
        "_symmetry_equiv_pos_as_xyz",
        "'x, y, z'",
        "loop_",
        "_atom_site_label",
        "_atom_site_type_symbol",
        "_atom_site_fract_x",
        "_atom_site_fract_y",
        "_atom_site_fract_z",
    ]
    for element, (fx, fy, fz) in zip(cluster.elements, fractional, strict=True):
        counts[element] = counts.get(element, 0) + 1
        lines.append(f"{element}{counts[element]} {element} {fx:.6f} {fy:.6f} {fz:.6f}")
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def read_gr(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Read r and G(r) from an xPDFsuite/PDFgetX3 .gr file (header up to '#### start data') or plain columns."""
    text = Path(path).read_text(errors="replace").splitlines()
    marker = next((k for k, line in enumerate(text) if line.startswith("#### start data")), -1)
    r, g = [], []
    for number, line in enumerate(text[marker + 1 :], start=marker + 2):
        fields = line.split()
        if not fields or line.lstrip().startswith(("#", "[")) or (marker < 0 and "=" in line):
            continue
        try:
            r.append(float(fields[0]))
            g.append(float(fields[1]))
        except (ValueError, IndexError):
            raise ValueError(f"{path}: line {number} is not two numbers 'r G': {line!r}") from None
    r_arr, g_arr = np.array(r), np.array(g)
    if len(r_arr) < 10:
        raise ValueError(f"{path}: fewer than 10 data points; not a PDF file or truncated")
    if not (np.isfinite(r_arr).all() and np.isfinite(g_arr).all()):
        raise ValueError(f"{path}: non-finite r or G values")
    if np.any(np.diff(r_arr) <= 0):
        raise ValueError(f"{path}: r is not strictly increasing")
    return r_arr, g_arr


def write_gr(r: np.ndarray, g: np.ndarray, path: str | os.PathLike[str], header: str) -> None:
    """Write two-column r, G(r) with '#' header lines."""
    body = "\n".join(f"{a:.4f} {b:.8g}" for a, b in zip(r, g, strict=True))
    lines = "\n".join(f"# {line}" for line in header.splitlines())
    with atomic_path(path) as tmp:
        tmp.write_text(f"{lines}\n{body}\n")


def fit_window(
    r: np.ndarray, g: np.ndarray, rmin: float, rmax: float, path: str = "data"
) -> tuple[np.ndarray, np.ndarray]:
    """The data points in the fit range rmin <= r <= rmax."""
    keep = (r >= rmin - 1e-9) & (r <= rmax + 1e-9)
    if keep.sum() < 10:
        raise ValueError(f"{path}: fewer than 10 points in the fit range {rmin}-{rmax} A (data span {r[0]}-{r[-1]} A)")
    return r[keep], g[keep]
