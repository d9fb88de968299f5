"""Seeded random generators: one config seed plus a name per use gives independent, reproducible streams."""

from __future__ import annotations

import zlib

import numpy as np


def seed_for(seed: int, *names: str | int) -> int:
    """A 32-bit seed derived from ``seed`` and ``names``, stable across processes and platforms."""
    keys = [zlib.crc32(str(name).encode()) for name in names]
    return int(np.random.SeedSequence([seed, *keys]).generate_state(1)[0])


def rng_for(seed: int, *names: str | int) -> np.random.Generator:
    """A numpy generator for the stream ``names`` of the run seeded with ``seed``."""
    return np.random.default_rng(seed_for(seed, *names))
