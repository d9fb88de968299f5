"""How close pixel-derived metadata come to FlowCam's own measurements of the same particles.

FlowCam writes 70+ measurement columns per particle (VisualSpreadsheet's export); inference on images without that
table recomputes them from pixels (:func:`fingerprintml.particles.shape.flowcam_metadata`). Where the two disagree a
model trained on one and run on the other sees shifted inputs, so a dataset uses one source for training and
inference alike; this table says which pixel-derived columns could stand in for FlowCam's.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from fingerprintml.particles.data import load_image
from fingerprintml.particles.schema import METADATA_COLUMNS
from fingerprintml.particles.shape import flowcam_metadata

AGREEMENT_COLUMNS = ["column", "n", "pearson_r", "spearman_rho", "median_ratio", "median_relative_error", "trusted"]


def pixel_metadata(paths: list[str | os.PathLike[str]], microns_per_pixel: np.ndarray) -> pd.DataFrame:
    """The pixel-derived metadata of ``paths`` (one row per image, :data:`METADATA_COLUMNS`), each image at its own
    pixel size."""
    rows = [
        flowcam_metadata(load_image(path), float(size)) for path, size in zip(paths, microns_per_pixel, strict=True)
    ]
    return pd.DataFrame(rows, columns=METADATA_COLUMNS)


def metadata_agreement(
    flowcam: pd.DataFrame, pixels: pd.DataFrame, *, min_rho: float = 0.9, max_relative_error: float = 0.2
) -> pd.DataFrame:
    """Per metadata column present in both tables (rows aligned): Pearson r, Spearman rho, the median ratio
    pixel/FlowCam, the median relative error |pixel - FlowCam| / |FlowCam|, and whether the column can be trusted
    (rho >= ``min_rho`` and median relative error <= ``max_relative_error``).

    Parameters
    ----------
    flowcam
        FlowCam's measurements, one row per particle.
    pixels
        The pixel-derived values of the same particles, same row order.
    min_rho, max_relative_error
        The bar for ``trusted``: ranks nearly the same and values within that share.
    """
    if len(flowcam) != len(pixels):
        raise ValueError(f"{len(flowcam)} FlowCam rows against {len(pixels)} pixel-derived rows")
    rows = []
    for column in [c for c in METADATA_COLUMNS if c in flowcam.columns and c in pixels.columns]:
        measured = flowcam[column].to_numpy(float)
        derived = pixels[column].to_numpy(float)
        finite = np.isfinite(measured) & np.isfinite(derived)
        measured, derived = measured[finite], derived[finite]
        nonzero = measured != 0
        varies = measured.std() > 0 and derived.std() > 0
        relative = np.abs(derived[nonzero] - measured[nonzero]) / np.abs(measured[nonzero])
        rho = float(stats.spearmanr(measured, derived).statistic) if varies else float("nan")
        error = float(np.median(relative)) if nonzero.any() else float("nan")
        rows.append(
            {
                "column": column,
                "n": int(finite.sum()),
                "pearson_r": float(np.corrcoef(measured, derived)[0, 1]) if varies else float("nan"),
                "spearman_rho": rho,
                "median_ratio": float(np.median(derived[nonzero] / measured[nonzero])) if nonzero.any() else np.nan,
                "median_relative_error": error,
                "trusted": bool(rho >= min_rho and error <= max_relative_error),
            }
        )
    return pd.DataFrame(rows, columns=AGREEMENT_COLUMNS)


def flowcam_image_paths(table: pd.DataFrame, classes_root: str | os.PathLike[str]) -> list[Path]:
    """The image of each row of a FlowCam table laid out as ``<classes_root>/<Class>/<File_name>``; a missing
    image is an error naming it."""
    paths = [Path(classes_root) / str(c) / str(f) for c, f in zip(table["Class"], table["File_name"], strict=True)]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{len(missing)} images of the FlowCam table are missing, e.g. {missing[0]}")
    return paths
