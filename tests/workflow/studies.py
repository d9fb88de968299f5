"""What the cross-study workflow tests run and compare, per study: cheap, seeded outputs that stand for the study's
chain (data, features or fits, one model), so that a SLURM run and a second run can be compared with the shared demo
run without training everything again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

# study -> outputs (relative to the workspace) rebuilt through SLURM and by a second local run, compared by
# same_outputs with the demo run's; the first one of each study depends on its seed.
REPRODUCED = {
    "isotopes": ["results/isotopes/demo/data/train.csv", "results/isotopes/demo/search/flat-xgboost.csv"],
    "gamma": ["results/gamma/demo/truth.csv", "results/gamma/demo/binary/test_scores.csv"],
    "particles": [
        "results/particles/demo/data/labelled.csv",
        "results/particles/demo/data/split.csv",
        "results/particles/demo/training/full/history.csv",
    ],
    "motifs": ["results/motifs/demo/catalogue.csv", "results/motifs/demo/fits.csv"],
    "xrd": [
        "results/xrd/demo/data/copy.npz",
        "results/xrd/demo/library/phases.csv",
        "results/xrd/demo/cache/00000.csv",
    ],
}

# Wall-clock columns are the only part of a table allowed to differ between runs.
TIMING_COLUMNS = {"seconds", "fit_seconds", "wall_seconds"}


def same_outputs(first: Path, second: Path) -> bool:
    """Whether two outputs are equal: tables cell for cell (timing columns aside), array archives array for array,
    other files byte for byte."""
    if first.suffix in (".csv", ".parquet"):
        read = pd.read_csv if first.suffix == ".csv" else pd.read_parquet
        a, b = read(first), read(second)
        a = a.drop(columns=[c for c in a.columns if c in TIMING_COLUMNS])
        b = b.drop(columns=[c for c in b.columns if c in TIMING_COLUMNS])
        return a.equals(b)
    if first.suffix == ".npz":
        with np.load(first) as a, np.load(second) as b:
            return sorted(a.files) == sorted(b.files) and all(np.array_equal(a[k], b[k]) for k in a.files)
    return first.read_bytes() == second.read_bytes()
