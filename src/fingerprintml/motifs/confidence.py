"""Confidence in the motif: a bootstrap over catalogues and models.

Each repeat draws a catalogue of the same size from the fitted cut-outs (with replacement), trains the xgboost model
of Rw on it with the hyperparameters of the search (a fresh seed, so row and column subsampling differ too),
recomputes the SHAP values on (the first ``shap_rows`` cut-outs of) that catalogue and applies the motif rule; the
SHAP values cost most of a repeat, so the subsample keeps many repeats affordable. Over the repeats, each removable
atom's ACV gets a percentile interval and every atom a probability of being in the motif
(:func:`fingerprintml.motifs.motif.summarise_bootstrap`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fingerprintml.motifs.catalogue import bonded, cutout_features, removable_atoms
from fingerprintml.motifs.model import regressor, shap_values
from fingerprintml.motifs.motif import atom_contributions, motif_mask
from fingerprintml.motifs.structure import Cluster
from fingerprintml.seeds import rng_for, seed_for

LOG = logging.getLogger("fingerprintml")


@dataclass(frozen=True)
class BootstrapSettings:
    """The bootstrap: ``repeats`` resampled catalogues and models, SHAP values of ``shap_rows`` cut-outs of each."""

    repeats: int
    shap_rows: int

    @classmethod
    def from_config(cls, cfg: dict) -> BootstrapSettings:
        """Settings from a dataset block's ``bootstrap``."""
        return cls(repeats=cfg["repeats"], shap_rows=cfg["shap_rows"])


def bootstrap_motif(
    cluster: Cluster,
    catalogue: pd.DataFrame,
    fits: pd.DataFrame,
    metrics: dict,
    *,
    removable: list[str],
    cutoff: float,
    spread_factor: float,
    settings: BootstrapSettings,
    seed: int,
    threads: int,
) -> pd.DataFrame:
    """One row per repeat and atom: ``repeat``, ``index``, ``acv`` (NaN for atoms that are not removable, or never
    or always kept in the repeat's catalogue) and ``in_motif`` under the motif rule.

    Parameters
    ----------
    cluster, catalogue
        The starting structure and its cut-out catalogue.
    fits
        The cut-outs' fit quality (``cutout``, ``rw``), in any order.
    metrics
        The trained model's metrics (``params``, ``n_estimators``): the hyperparameters every repeat uses.
    removable, cutoff, spread_factor
        Removable elements, bond cutoff (A) and the motif rule's spread factor.
    settings
        Repeats and SHAP rows per repeat.
    seed, threads
        The study's seed; xgboost's threads.
    """
    repeats = settings.repeats
    if repeats < 2:
        raise ValueError(f"the bootstrap needs at least 2 repeats, got {repeats}")
    target = fits.set_index("cutout").loc[catalogue["cutout"], "rw"].to_numpy()
    features = cutout_features(cluster, catalogue, removable)
    x = features.to_numpy(dtype=np.float32)
    atoms = removable_atoms(cluster, removable)
    near = bonded(cluster, cutoff)
    n_atoms, records = len(cluster), []
    for repeat in range(repeats):
        rows = rng_for(seed, "motifs", "bootstrap", repeat).integers(0, len(x), size=len(x))
        model_seed = seed_for(seed, "bootstrap", repeat)
        model = regressor(metrics["params"], metrics["n_estimators"], threads, model_seed, None)
        model.fit(x[rows], target[rows], verbose=False)
        drawn = features.iloc[rows[: settings.shap_rows]].reset_index(drop=True)
        contributions = atom_contributions(drawn, shap_values(model, drawn), atoms)
        acv = np.full(n_atoms, np.nan)
        acv[contributions["index"].to_numpy()] = contributions["acv"].to_numpy()
        in_motif = motif_mask(n_atoms, contributions, near, atoms, spread_factor)
        records.append(pd.DataFrame({"repeat": repeat, "index": np.arange(n_atoms), "acv": acv, "in_motif": in_motif}))
        LOG.info("bootstrap repeat %d/%d: motif of %d atoms", repeat + 1, repeats, in_motif.sum())
    return pd.concat(records, ignore_index=True)
