"""Which library phases a model trains on: the original's split by augmented copy, or a split by structure."""

from __future__ import annotations

import numpy as np

from fingerprintml.seeds import rng_for


def structure_split_classes(n_phases: int, split: str, held_out_fraction: float, seed: int) -> np.ndarray:
    """Library indices a model of ``split`` trains on: all phases for ``copy`` (the original's split by augmented
    copy), all but a seeded ``held_out_fraction`` of them for ``structure``."""
    if split == "copy":
        return np.arange(n_phases)
    held_out = held_out_phases(n_phases, held_out_fraction, seed)
    return np.setdiff1d(np.arange(n_phases), held_out)


def held_out_phases(n_phases: int, fraction: float, seed: int) -> np.ndarray:
    """The phases the structure-split model never sees."""
    n_held = max(1, round(n_phases * fraction))
    return np.sort(rng_for(seed, "xrd", "structure-split").choice(n_phases, n_held, replace=False))
