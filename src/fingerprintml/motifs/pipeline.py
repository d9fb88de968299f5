"""Steps of the motifs workflow that combine the modules: shard fitting, gathering the shards, the motif
refinement."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from fingerprintml.motifs.catalogue import table_to_masks
from fingerprintml.motifs.debye import PDFSettings, debye_gr
from fingerprintml.motifs.fitting import FitSettings, fit_masks, fit_one, rw
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
    cluster: Cluster, in_motif: np.ndarray, r: np.ndarray, gobs: np.ndarray, pdf: PDFSettings, fit: FitSettings
) -> tuple[dict, pd.DataFrame]:
    """Fit the motif alone (srfit engine): its parameters and Rw, and r, Gobs, Gcalc, difference on the fit range."""
    if in_motif.sum() < 2:
        raise ValueError(
            "the extracted motif has fewer than two atoms; nothing to refine (check motifs.motif.spread_factor)"
        )
    motif = cluster.subset(in_motif)
    result = fit_one(motif, r, gobs, pdf, fit, "srfit")
    r_fit, g_fit = fit_window(r, gobs, fit.rmin, fit.rmax)
    zoom_names = [name for name in result if name.startswith("zoom")]
    zoom = result["zoom"] if zoom_names == ["zoom"] else tuple(result[name] for name in sorted(zoom_names))
    delta2 = result.get("delta2", pdf.delta2)
    g_calc = result["scale"] * debye_gr(motif.xyz, motif.elements, pdf, r_fit, zoom, delta2)
    result["rw_check"] = rw(g_fit, g_calc)
    result["n_atoms"] = int(in_motif.sum())
    profile = pd.DataFrame({"r": r_fit, "gobs": g_fit, "gcalc": g_calc, "difference": g_fit - g_calc})
    return result, profile
