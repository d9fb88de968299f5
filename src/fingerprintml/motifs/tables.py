"""Reading the study's own tables back with their types."""

from __future__ import annotations

import pandas as pd

# The columns the bootstrap (:mod:`fingerprintml.motifs.confidence`) adds to the atom table.
CONFIDENCE_COLUMNS = ["acv_low", "acv_high", "p_in_motif"]


def read_atom_table(path: str) -> pd.DataFrame:
    """The atom table written by the atoms rule, ACV/spread and their bootstrap interval as floats (NaN where not
    removable), in_motif as bool, p_in_motif (the bootstrap's probability) as float."""
    table = pd.read_csv(path)
    missing = {"index", "element", "x", "y", "z", "acv", "spread", "in_motif", *CONFIDENCE_COLUMNS} - set(table.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}")
    table["in_motif"] = table["in_motif"].astype(bool)
    return table


def recovery(atoms: pd.DataFrame, planted: pd.DataFrame) -> dict[str, float]:
    """Precision and recall of the extracted motif against the planted one, over all atoms and over the scored
    (removable) atoms."""
    truth = planted.set_index("index").loc[atoms["index"], "planted"].astype(str).eq("True").to_numpy()
    found = atoms["in_motif"].to_numpy()
    scored = atoms["acv"].notna().to_numpy()
    scores = {}
    for name, rows in (("all", slice(None)), ("removable", scored)):
        hits = int((found[rows] & truth[rows]).sum())
        scores[f"precision_{name}"] = hits / max(int(found[rows].sum()), 1)
        scores[f"recall_{name}"] = hits / max(int(truth[rows].sum()), 1)
    scores["n_found"], scores["n_planted"] = int(found.sum()), int(truth.sum())
    return scores
