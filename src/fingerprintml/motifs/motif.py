"""Motif extraction from SHAP values: per-atom contribution values (ACV), their spread, and the motif rule."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fingerprintml.motifs.catalogue import bonded, cutout_features, removable_atoms
from fingerprintml.motifs.structure import Cluster


def atom_contributions(features: pd.DataFrame, shap_table: pd.DataFrame, removable: np.ndarray) -> pd.DataFrame:
    """Per removable atom: ACV = 0.5 mean(SHAP | kept) - 0.5 mean(SHAP | removed) and its spread
    sqrt(0.5 sd_kept^2 + 0.5 sd_removed^2); NaN where the atom is never (or always) kept."""
    rows = []
    for k in removable:
        column = f"atom_{k}"
        kept = features[column].to_numpy() == 1
        s = shap_table[column].to_numpy()
        on, off = s[kept], s[~kept]
        if len(on) < 2 or len(off) < 2:
            acv = spread = np.nan
        else:
            acv = 0.5 * on.mean() - 0.5 * off.mean()
            spread = np.sqrt(0.5 * on.std(ddof=1) ** 2 + 0.5 * off.std(ddof=1) ** 2)
        rows.append({"index": int(k), "acv": acv, "spread": spread, "n_kept": int(kept.sum())})
    return pd.DataFrame(rows)


def motif_mask(
    n_atoms: int, contributions: pd.DataFrame, near: np.ndarray, removable: np.ndarray, spread_factor: float
) -> np.ndarray:
    """The motif: removable atoms with ACV + spread_factor * spread < 0 (negative beyond their spread), plus every
    other atom bonded to one of them (the catalogue's rule)."""
    chosen = contributions.loc[contributions["acv"] + spread_factor * contributions["spread"] < 0, "index"].to_numpy()
    mask = np.zeros(n_atoms, dtype=bool)
    mask[chosen] = True
    others = np.ones(n_atoms, dtype=bool)
    others[removable] = False
    mask[others] = near[np.ix_(others, mask)].any(axis=1) if mask.any() else False
    return mask


def atom_table(
    cluster: Cluster,
    features: pd.DataFrame,
    shap_table: pd.DataFrame,
    removable_elements: list[str],
    cutoff: float,
    spread_factor: float,
) -> pd.DataFrame:
    """Atom table: index, element, x, y, z, ACV, spread, in_motif (ACV and spread are NaN for non-removable atoms,
    which join the motif when bonded to a motif atom)."""
    removable = removable_atoms(cluster, removable_elements)
    contributions = atom_contributions(features, shap_table, removable)
    near = bonded(cluster, cutoff)
    table = pd.DataFrame(
        {
            "index": np.arange(len(cluster)),
            "element": cluster.elements,
            "x": cluster.xyz[:, 0],
            "y": cluster.xyz[:, 1],
            "z": cluster.xyz[:, 2],
        }
    )
    table = table.merge(contributions[["index", "acv", "spread"]], on="index", how="left")
    table["in_motif"] = motif_mask(len(cluster), contributions, near, removable, spread_factor)
    return table


def extract_motif(
    cluster: Cluster,
    catalogue: pd.DataFrame,
    shap_table: pd.DataFrame,
    *,
    removable: list[str],
    cutoff: float,
    spread_factor: float,
    bootstrap: pd.DataFrame,
    level: float,
) -> pd.DataFrame:
    """The atom table (:func:`atom_table`) of a catalogue's SHAP values with the bootstrap's columns
    (:func:`summarise_bootstrap` of ``bootstrap`` at ``level``). The features are rebuilt from the catalogue, so the
    SHAP table's columns must be those of :func:`~fingerprintml.motifs.catalogue.cutout_features`."""
    features = cutout_features(cluster, catalogue, removable)
    if list(shap_table.columns) != list(features.columns) or len(shap_table) != len(features):
        raise ValueError(
            f"the SHAP table ({len(shap_table)} rows) does not match the catalogue's features ({len(features)} rows, "
            f"columns {list(features.columns)[:3]}...)"
        )
    confidence = summarise_bootstrap(bootstrap, level)
    if confidence["index"].tolist() != list(range(len(cluster))):
        raise ValueError(f"the bootstrap table does not cover the structure's {len(cluster)} atoms")
    table = atom_table(cluster, features, shap_table, removable, cutoff, spread_factor)
    return table.merge(confidence, on="index", how="left")


def summarise_bootstrap(bootstrap: pd.DataFrame, level: float) -> pd.DataFrame:
    """Per atom: the ``level`` percentile interval of its ACV over the repeats (``acv_low``, ``acv_high``; NaN for
    atoms without ACV) and the fraction of repeats that put it in the motif (``p_in_motif``)."""
    missing = {"repeat", "index", "acv", "in_motif"} - set(bootstrap.columns)
    if missing:
        raise ValueError(f"the bootstrap table misses column(s) {sorted(missing)}")
    if not 0 < level < 1:
        raise ValueError(f"the interval's confidence level must lie in (0, 1), got {level}")
    tail = 50 * (1 - level)
    # Read back with fingerprintml.io.read_table, a missing ACV is an empty string.
    bootstrap = bootstrap.assign(acv=pd.to_numeric(bootstrap["acv"].replace("", np.nan)))
    grouped = bootstrap.groupby("index")
    return pd.DataFrame(
        {
            "acv_low": grouped["acv"].agg(lambda v: np.nanpercentile(v, tail) if v.notna().any() else np.nan),
            "acv_high": grouped["acv"].agg(lambda v: np.nanpercentile(v, 100 - tail) if v.notna().any() else np.nan),
            "p_in_motif": grouped["in_motif"].agg(lambda v: v.astype(str).eq("True").mean()),
        }
    ).reset_index()
