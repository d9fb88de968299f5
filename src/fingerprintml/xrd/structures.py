"""CIF -> structure, the one path for COD, demo and user CIFs; failures become rows of a rejects table."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
from pymatgen.core import Structure
from pymatgen.io.cif import CifParser
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

REJECT_COLUMNS = ["source_id", "path", "reason"]
SYMPREC = 0.01


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


def rejects_frame(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=REJECT_COLUMNS)
