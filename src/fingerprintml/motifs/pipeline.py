"""Steps of the motifs workflow that combine the modules: shard fitting, the atom table, the motif refinement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from fingerprintml.motifs.catalogue import table_to_masks
from fingerprintml.motifs.debye import PDFSettings, debye_gr
from fingerprintml.motifs.fitting import FitSettings, fit_masks, fit_one, rw
from fingerprintml.motifs.structure import Cluster, fit_window


def resolve_device(device: str) -> str:
    """'auto' becomes cuda where available, else cpu; an explicit 'cuda' without CUDA is an error."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("config motifs.device is 'cuda' but torch finds no CUDA device")
    return device


def shard_rows(n_cutouts: int, shard_size: int, shard: int) -> slice:
    """The catalogue rows of shard number ``shard``."""
    start = shard * shard_size
    if shard < 0 or start >= n_cutouts:
        raise ValueError(f"shard {shard} is outside the catalogue of {n_cutouts} cut-outs (shard size {shard_size})")
    return slice(start, min(start + shard_size, n_cutouts))


def fit_shard(
    cluster: Cluster,
    catalogue: pd.DataFrame,
    rows: slice,
    r: np.ndarray,
    gobs: np.ndarray,
    pdf: PDFSettings,
    fit: FitSettings,
    engine: str,
    device: str,
) -> pd.DataFrame:
    """Fits of the catalogue rows ``rows``: cutout id, Rw and refined parameters."""
    part = catalogue.iloc[rows]
    masks = table_to_masks(part, len(cluster))
    fit_window(r, gobs, fit.rmin, fit.rmax)
    result = fit_masks(cluster, masks, r, gobs, pdf, fit, engine, resolve_device(device))
    result.insert(0, "cutout", part["cutout"].to_numpy())
    return result


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
