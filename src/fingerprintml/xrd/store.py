"""CIF shards -> reflection caches, and the phase library (table + caches) the later steps read."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import pandas as pd

from fingerprintml.io import atomic_path
from fingerprintml.xrd.reflections import Reflections, compute_reflections
from fingerprintml.xrd.structures import CifError, phase_label, read_cif, rejects_frame

log = logging.getLogger(__name__)

PHASE_COLUMNS = ["phase_id", "formula", "spacegroup", "source_id", "n_sites", "n_reflections"]


def convert_cifs(
    paths: list[str], wavelength: float, two_theta_max: float
) -> tuple[pd.DataFrame, list[Reflections], pd.DataFrame]:
    """Phases table, reflection caches and rejects of the CIFs ``paths`` (source id = file stem)."""
    phases, caches, rejects = [], [], []
    for path in paths:
        source = Path(path).stem
        try:
            structure = read_cif(path)
            refl = compute_reflections(structure, wavelength, two_theta_max)
            if len(refl.hkl) == 0:
                raise CifError(f"{Path(path).name}: no reflection within the two-theta range")
        except (CifError, ValueError) as error:
            log.warning("rejected %s", error)
            rejects.append({"source_id": source, "path": str(path), "reason": str(error)})
            continue
        phases.append({**phase_label(structure, source), "n_sites": len(structure), "n_reflections": len(refl.hkl)})
        caches.append(refl)
    return pd.DataFrame(phases, columns=PHASE_COLUMNS), caches, rejects_frame(rejects)


def save_caches(caches: list[Reflections], path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(caches, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_caches(path: str | os.PathLike[str]) -> list[Reflections]:
    with open(path, "rb") as fh:
        return pickle.load(fh)
