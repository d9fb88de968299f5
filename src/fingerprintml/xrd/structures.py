"""CIF -> structure, the one path for COD, demo and user CIFs; failures become rows of a rejects table."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Structure
from pymatgen.io.cif import CifParser
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

REJECT_COLUMNS = ["source_id", "path", "reason"]
SYMPREC = 0.01
# The six independent symmetric strain tensors: xx, yy, zz, xy, xz, yz (Cartesian).
UNIT_STRAINS = np.array(
    [np.diag(d) for d in np.eye(3)] + [np.eye(3)[[i, j]].T @ np.eye(3)[[j, i]] for i, j in [(0, 1), (0, 2), (1, 2)]]
)


class CifError(ValueError):
    """A CIF that gives no usable structure."""


def read_cif(path: str | os.PathLike[str]) -> Structure:
    """The first structure of a CIF (primitive cell); :class:`CifError` names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise CifError(f"{path.name}: missing")
    if path.stat().st_size == 0:
        raise CifError(f"{path.name}: empty file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            structures = CifParser(path).parse_structures(primitive=True)
    except Exception as error:  # pymatgen raises many kinds of error on broken CIFs
        raise CifError(f"{path.name}: unparsable ({error.__class__.__name__}: {str(error)[:200]})") from error
    if not structures:
        raise CifError(f"{path.name}: unparsable (no structure in the file)")
    return structures[0]


def phase_label(structure: Structure, source_id: str) -> dict[str, str]:
    """Formula, space group and source id: together they keep polymorphs distinct."""
    try:
        spacegroup = SpacegroupAnalyzer(structure, symprec=SYMPREC).get_space_group_symbol()
    except Exception:  # spglib fails on some disordered structures: the label then says so
        spacegroup = "unknown"
    formula = structure.composition.reduced_formula
    return {
        "phase_id": f"{formula}|{spacegroup}|{source_id}",
        "formula": formula,
        "spacegroup": spacegroup,
        "source_id": source_id,
    }


def strain_modes(structure: Structure) -> tuple[str, np.ndarray]:
    """The crystal system of ``structure`` and a basis (k, 3, 3) of the symmetric Cartesian strain tensors e its
    point group leaves invariant (R e R^T = e for each rotation R of the structure's Cartesian frame): cubic 1 (the
    isotropic strain), tetragonal, trigonal and hexagonal 2 (a and c), orthorhombic 3, monoclinic 4, triclinic 6.

    The basis is the Reynolds projection (mean of R e R^T over the point group) of the unit strains xx, yy, zz,
    xy, xz, yz, each kept when independent of those kept before, and scaled to a largest component of 1 (a cell
    with c along z thus gets diag(1, 1, 0) and diag(0, 0, 1)). A structure spglib cannot analyse (some disordered
    ones) is treated as triclinic: every strain allowed."""
    try:
        analyzer = SpacegroupAnalyzer(structure, symprec=SYMPREC)
        system = analyzer.get_crystal_system()
        rotations = np.array([op.rotation_matrix for op in analyzer.get_symmetry_operations(cartesian=True)])
    except Exception:  # spglib fails on some disordered structures
        return "unknown", UNIT_STRAINS.copy()
    basis: list[np.ndarray] = []
    for unit in UNIT_STRAINS:
        projected = np.einsum("rij,jk,rlk->il", rotations, unit, rotations) / len(rotations)
        stacked = np.reshape([*basis, projected], (len(basis) + 1, 9))
        if np.linalg.matrix_rank(stacked, tol=1e-3) == len(basis) + 1:
            basis.append(projected / np.abs(projected).max())
    return system, np.array(basis)


def rejects_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=REJECT_COLUMNS)
