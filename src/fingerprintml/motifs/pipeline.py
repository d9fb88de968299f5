"""Steps of the motifs workflow that combine the modules: shard fitting, gathering the shards, the motif
refinement."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fingerprintml.motifs.catalogue import table_to_masks
from fingerprintml.motifs.debye import PDFSettings
from fingerprintml.motifs.fitting import FitSettings, RefineSettings, fit_masks, refine_structure
from fingerprintml.motifs.structure import Cluster, fit_window


def fit_shard(
    cluster: Cluster, catalogue: pd.DataFrame, rows: slice, r: np.ndarray, gobs: np.ndarray, **settings: Any
) -> pd.DataFrame:
    """Fits of the catalogue rows ``rows``: cutout id, Rw and refined parameters.

    Parameters
    ----------
    cluster, catalogue
        The starting structure and its cut-out catalogue.
    rows
        The shard's rows of the catalogue (:func:`fingerprintml.shards.shard_slice`).
    r, gobs
        The measured PDF.
    settings
        The keywords of :func:`~fingerprintml.motifs.fitting.fit_masks`: ``pdf``, ``fit``, ``engine`` and
        ``device`` (:func:`fingerprintml.torch_runtime.select_device`).
    """
    part = catalogue.iloc[rows]
    masks = table_to_masks(part, len(cluster))
    fit_window(r, gobs, settings["fit"].rmin, settings["fit"].rmax)
    result = fit_masks(cluster, masks, r, gobs, **settings)
    result.insert(0, "cutout", part["cutout"].to_numpy())
    return result


def gather_fits(catalogue: pd.DataFrame, shards: list[pd.DataFrame]) -> pd.DataFrame:
    """The fits of all shards in catalogue order, with each cut-out's atom count; an error unless the shards cover
    the catalogue's cut-outs exactly once."""
    fits = pd.concat(shards, ignore_index=True)
    if sorted(fits["cutout"]) != sorted(catalogue["cutout"]):
        raise ValueError("the fitted shards do not cover the catalogue's cut-outs exactly once")
    return catalogue[["cutout", "n_atoms"]].merge(fits, on="cutout")


def refine_motif(
    cluster: Cluster,
    in_motif: np.ndarray,
    r: np.ndarray,
    gobs: np.ndarray,
    pdf: PDFSettings,
    fit: FitSettings,
    refine: RefineSettings,
) -> tuple[dict, pd.DataFrame]:
    """Refine the motif alone (:func:`~fingerprintml.motifs.fitting.refine_structure`) over the fit range: its
    parameters with uncertainties, Rw and atom count; and r, Gobs, Gcalc, difference."""
    if in_motif.sum() < 2:
        raise ValueError(
            "the extracted motif has fewer than two atoms; nothing to refine (check motifs.motif.spread_factor)"
        )
    r_fit, g_fit = fit_window(r, gobs, fit.rmin, fit.rmax)
    result, g_calc = refine_structure(cluster.subset(in_motif), r_fit, g_fit, pdf, refine, fit.srfit_starts)
    result["n_atoms"] = int(in_motif.sum())
    profile = pd.DataFrame({"r": r_fit, "gobs": g_fit, "gcalc": g_calc, "difference": g_fit - g_calc})
    return result, profile
