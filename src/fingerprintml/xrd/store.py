"""CIF shards -> reflection caches, and the phase library (table + caches) the later steps read."""

from __future__ import annotations

import logging
import math
import os
import pickle
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from fingerprintml.io import atomic_path, read_table
from fingerprintml.shards import shard_slice
from fingerprintml.xrd.reflections import Reflections, compute_reflections
from fingerprintml.xrd.structures import CifError, phase_label, read_cif, rejects_frame

log = logging.getLogger(__name__)

PHASE_COLUMNS = ["phase_id", "formula", "spacegroup", "source_id", "n_sites", "n_reflections", "cell_mass"]


def shard_cifs(
    source: str, cifs: str | os.PathLike[str] | Sequence[str], shard: str, shards: int | None = None
) -> tuple[list[str], list[dict[str, str]]]:
    """The CIFs a conversion shard converts and those rejected before (CIFs the fetch could not get).

    Parameters
    ----------
    source
        ``cod_list`` (``cifs`` is the shard's fetch table), ``demo_library`` (``cifs`` is the folder of the built
        library, shared out in ``shards`` contiguous shards of its sorted listing) or ``user`` (``cifs`` are the
        shard's CIF paths).
    cifs
        See ``source``.
    shard
        The shard's name.
    shards
        The number of demo library shards.
    """
    if source == "cod_list":
        fetched = read_table(cifs)
        rejected = fetched["status"] == "rejected"
        return fetched.loc[~rejected, "path"].tolist(), fetched.loc[rejected, ["source_id", "path", "reason"]].to_dict(
            "records"
        )
    if source == "demo_library":
        listing = sorted(str(f) for f in Path(cifs).glob("*.cif"))
        per_shard = max(1, math.ceil(len(listing) / shards))
        if int(shard) * per_shard >= len(listing):
            return [], []
        return listing[shard_slice(shard, len(listing), per_shard)], []
    return ([str(cifs)] if isinstance(cifs, str | os.PathLike) else [str(path) for path in cifs]), []


def convert_cifs(
    paths: list[str], wavelength: float, two_theta_max: float, rejected: Sequence[dict[str, str]] = ()
) -> tuple[pd.DataFrame, list[Reflections], pd.DataFrame]:
    """Phases table, reflection caches and rejects of the CIFs ``paths`` (source id = file stem); ``rejected``
    (CIFs rejected before, with source_id, path and reason) head the rejects."""
    phases, caches, rejects = [], [], list(rejected)
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
        # cell_mass (amu) of the cell the reflections are computed for: ZM of the Hill-Howard weight fractions.
        phases.append(
            {
                **phase_label(structure, source),
                "n_sites": len(structure),
                "n_reflections": len(refl.hkl),
                "cell_mass": float(structure.composition.weight),
            }
        )
        caches.append(refl)
    return pd.DataFrame(phases, columns=PHASE_COLUMNS), caches, rejects_frame(rejects)


def save_caches(caches: list[Reflections], path: str | os.PathLike[str]) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(caches, fh, protocol=pickle.HIGHEST_PROTOCOL)


def load_caches(path: str | os.PathLike[str]) -> list[Reflections]:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def merge_library(
    phase_tables: Sequence[pd.DataFrame],
    shard_caches: Sequence[list[Reflections]],
    reject_tables: Sequence[pd.DataFrame],
) -> tuple[pd.DataFrame, list[Reflections], pd.DataFrame]:
    """The library of the converted shards (in order): phases, caches and rejects; a phase id seen before is dropped
    (with a warning), a library of fewer than two phases is an error."""
    phases = pd.concat(phase_tables, ignore_index=True) if phase_tables else pd.DataFrame(columns=PHASE_COLUMNS)
    caches = [refl for shard in shard_caches for refl in shard]
    duplicated = phases["phase_id"].duplicated()
    if duplicated.any():
        log.warning(
            "dropping %d duplicated phase ids: %s", duplicated.sum(), phases.loc[duplicated, "phase_id"].tolist()
        )
    phases = phases[~duplicated].reset_index(drop=True)
    caches = [refl for refl, dup in zip(caches, duplicated, strict=True) if not dup]
    if len(phases) < 2:
        raise ValueError(f"the library has {len(phases)} usable phase(s); identification needs at least 2")
    rejects = rejects_frame([row for table in reject_tables for row in table.to_dict("records")])
    return phases, caches, rejects
