"""The structure catalogue: random cut-outs of a starting cluster, stored as atom-presence masks."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fingerprintml.motifs.structure import Cluster


def bonded(cluster: Cluster, cutoff: float) -> np.ndarray:
    """Boolean matrix of atom pairs closer than ``cutoff`` (A); the diagonal is False."""
    d = np.linalg.norm(cluster.xyz[:, None, :] - cluster.xyz[None, :, :], axis=-1)
    near = d < cutoff
    np.fill_diagonal(near, False)
    return near


def removable_atoms(cluster: Cluster, elements: list[str]) -> np.ndarray:
    """Indices of the atoms whose element is removable; an error if there is none."""
    index = np.flatnonzero(np.isin(cluster.elements, elements))
    if len(index) == 0:
        raise ValueError(
            f"no atom of the removable elements {elements}; the structure has {sorted(set(cluster.elements))}"
        )
    return index


def complete_masks(kept_removable: np.ndarray, removable: np.ndarray, near: np.ndarray) -> np.ndarray:
    """Full atom masks: the kept removable atoms plus every other atom bonded to one of them."""
    n_atoms = len(near)
    others = np.ones(n_atoms, dtype=bool)
    others[removable] = False
    kept = kept_removable.astype(bool)
    masks = np.zeros((len(kept), n_atoms), dtype=bool)
    masks[:, removable] = kept
    masks[:, others] = (kept.astype(np.int32) @ near[np.ix_(removable, others)].astype(np.int32)) > 0
    return masks


def build_catalogue(
    cluster: Cluster, removable_elements: list[str], cutoff: float, n: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` distinct cut-out masks (cut-outs x atoms); each keeps k removable atoms, k uniform in 1..n_removable."""
    removable = removable_atoms(cluster, removable_elements)
    n_removable = len(removable)
    possible = 2.0**n_removable - 1
    if n > possible:
        raise ValueError(f"{n} distinct cut-outs requested, but {n_removable} removable atoms give only {possible:.0f}")
    seen: set[bytes] = set()
    chosen = []
    attempts = 0
    while len(chosen) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ValueError(f"could not draw {n} distinct cut-outs (k uniform in 1..{n_removable}); lower the count")
        k = rng.integers(1, n_removable + 1)
        kept = np.zeros(n_removable, dtype=bool)
        kept[rng.choice(n_removable, size=k, replace=False)] = True
        key = np.packbits(kept).tobytes()
        if key not in seen:
            seen.add(key)
            chosen.append(kept)
    return complete_masks(np.array(chosen), removable, bonded(cluster, cutoff))


def masks_to_table(masks: np.ndarray) -> pd.DataFrame:
    """One row per cut-out: its id, atom count and mask as a string of 0/1 (one character per atom)."""
    return pd.DataFrame(
        {
            "cutout": np.arange(len(masks)),
            "n_atoms": masks.sum(axis=1),
            "mask": ["".join("1" if v else "0" for v in row) for row in masks],
        }
    )


def read_catalogue(path: str) -> pd.DataFrame:
    """The catalogue table, masks kept as strings (leading zeros intact)."""
    return pd.read_csv(path, dtype={"mask": str}, keep_default_na=False)


def table_to_masks(table: pd.DataFrame, n_atoms: int, path: str = "catalogue") -> np.ndarray:
    """Masks from a catalogue table; checks columns, lengths and characters."""
    missing = {"cutout", "mask"} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    strings = table["mask"].astype(str)
    bad = strings[(strings.str.len() != n_atoms) | ~strings.str.fullmatch(r"[01]+")]
    if len(bad):
        raise ValueError(f"{path}: cut-out row {bad.index[0]} has a mask that is not {n_atoms} characters of 0/1")
    return np.frombuffer("".join(strings).encode(), dtype=np.uint8).reshape(len(strings), n_atoms) == ord("1")


def feature_table(masks: np.ndarray, removable: np.ndarray) -> pd.DataFrame:
    """Features of each cut-out: presence (0/1) of each removable atom (column ``atom_<index>``) and the atom count."""
    features = pd.DataFrame(masks[:, removable].astype(np.int8), columns=[f"atom_{k}" for k in removable])
    features["n_atoms"] = masks.sum(axis=1)
    return features


def cutout_features(cluster: Cluster, catalogue: pd.DataFrame, removable_elements: list[str]) -> pd.DataFrame:
    """The features of every cut-out of a catalogue table (:func:`feature_table` of its masks)."""
    return feature_table(table_to_masks(catalogue, len(cluster)), removable_atoms(cluster, removable_elements))


def read_fits_table(path: str, n_atoms: int, quality: str = "rw") -> tuple[pd.DataFrame, pd.DataFrame]:
    """A table of cut-outs fitted elsewhere (ML-MotEx's entry at its steps 3 and 4): one row per cut-out with its
    ``mask`` (one 0/1 character per atom of the starting structure) and its fit quality (column ``quality``, lower is
    better), optionally a ``cutout`` id (else the row number) and other columns (kept with the fits).

    Returns the catalogue (``cutout``, ``n_atoms``, ``mask``) and the fits (``cutout``, ``n_atoms``, ``rw`` and the
    other columns); every problem is an error naming the file.
    """
    try:
        table = pd.read_csv(path, dtype={"mask": str}, keep_default_na=False, na_values=[""])
    except FileNotFoundError:
        raise ValueError(f"{path}: the fits table (motifs.input.fits) does not exist") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as error:
        raise ValueError(f"{path}: not a readable CSV table of cut-outs ({error})") from None
    missing = {"mask", quality} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; a fits table needs mask and {quality}")
    if len(table) < 2:
        raise ValueError(f"{path}: {len(table)} cut-out(s); the model needs many")
    if "cutout" not in table.columns:
        table.insert(0, "cutout", np.arange(len(table)))
    ids = pd.to_numeric(table["cutout"], errors="coerce")
    if ids.isna().any() or (ids % 1 != 0).any() or ids.duplicated().any():
        raise ValueError(f"{path}: the cutout column must hold distinct integers")
    masks = table_to_masks(table, n_atoms, path)
    if not masks.any(axis=1).all():
        raise ValueError(f"{path}: cut-out row {int(np.argmin(masks.any(axis=1)))} keeps no atom")
    values = pd.to_numeric(table[quality], errors="coerce")
    bad = values.isna() | ~np.isfinite(values) | (values < 0)
    if bad.any():
        raise ValueError(
            f"{path}: row {int(np.flatnonzero(bad)[0])} has {quality} {table[quality].iloc[bad.argmax()]!r}, "
            "not a finite number >= 0"
        )
    catalogue = masks_to_table(masks)
    catalogue["cutout"] = ids.astype(int).to_numpy()
    extra = table.drop(columns=["cutout", "mask", quality, "n_atoms"], errors="ignore")
    fits = catalogue[["cutout", "n_atoms"]].assign(rw=values.to_numpy())
    return catalogue, pd.concat([fits, extra.reset_index(drop=True)], axis=1)
