"""Classes, the 34 FlowCam metadata columns of the paper's tables, and how file names carry class and session."""

from __future__ import annotations

import re
from pathlib import PurePath

# Order of the original's output layer (CFG.target_cols in ICELEARNING).
CLASSES = ["camp", "corylus", "dust", "grim", "qrob", "qsub", "cont"]

CLASS_NAMES = {
    "camp": "felsic tephra (Campanian)",
    "corylus": "pollen, Corylus avellana",
    "dust": "mineral dust",
    "grim": "basaltic tephra (Grimsvötn)",
    "qrob": "pollen, Quercus robur",
    "qsub": "pollen, Quercus suber",
    "cont": "contamination / blurry",
}

# File-name prefixes of FlowCam acquisitions that are not the class name itself.
PREFIX_CLASS = {"focustest": "dust", "GRIP": "cont"}

# The FlowCam columns the original feeds to its metadata branch, named as in the paper's CSV tables.
METADATA_COLUMNS = [
    "Area (ABD)",
    "Area (Filled)",
    "Aspect Ratio",
    "Biovolume (Cylinder)",
    "Biovolume (P. Spheroid)",
    "Circle Fit",
    "Circularity",
    "Circularity (Hu)",
    "Compactness",
    "Convex Perimeter",
    "Convexity",
    "Diameter (ABD)",
    "Diameter (ESD)",
    "Edge Gradient",
    "Elongation",
    "Feret Angle Max",
    "Feret Angle Min",
    "Fiber Curl",
    "Fiber Straightness",
    "Geodesic Aspect Ratio",
    "Geodesic Length",
    "Geodesic Thickness",
    "Intensity",
    "Length",
    "Particles Per Chain",
    "Perimeter",
    "Roughness",
    "Sigma Intensity",
    "Sum Intensity",
    "Symmetry",
    "Transparency",
    "Volume (ABD)",
    "Volume (ESD)",
    "Width",
]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp")

_INDEX = re.compile(r"_\d+$")


def session_of(path: str | PurePath) -> str:
    """Acquisition session of a FlowCam image: its file name without the trailing image counter.

    ``camp_11nov_4_fc80_20x_33.png`` -> ``camp_11nov_4_fc80_20x``: images of one run share it, so a split
    grouped by session keeps near-duplicates of one run on one side.
    """
    stem = PurePath(path).stem
    return _INDEX.sub("", stem) or stem


def class_of(path: str | PurePath) -> str | None:
    """Class named by a file-name prefix (``qrob_17nov...`` -> qrob, ``focustest_...`` -> dust), or None."""
    prefix = PurePath(path).stem.split("_")[0]
    if prefix in CLASSES:
        return prefix
    return PREFIX_CLASS.get(prefix)
