"""The demo's data: the library the project builds, written as CIF, and simulated "measured" query patterns."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from fingerprintml.io import atomic_path
from fingerprintml.logs import progress
from fingerprintml.seeds import rng_for
from fingerprintml.xrd.augment import augmented_set
from fingerprintml.xrd.library import build_library, write_cif
from fingerprintml.xrd.patterns import Grid
from fingerprintml.xrd.reflections import Reflections

log = logging.getLogger(__name__)

# How the simulated queries are exported: ranges starting between these angles, up to QUERY_STOP, in one of the
# steps, as one of the suffixes in turn (the instrument exports the identify step must read).
QUERY_START = (8.0, 15.0)
QUERY_STOP = 85.0
QUERY_STEPS = (0.01, 0.02, 0.05)
QUERY_SUFFIXES = (".xy", ".xye", ".csv")
QUERY_COUNTS = (1000.0, 50.0)  # counts at the strongest peak above a flat background
BROKEN_QUERY = "query_broken.xy"


def write_demo_library(folder: str | os.PathLike[str], min_spacing: float) -> list[str]:
    """Write the demo library (:func:`fingerprintml.xrd.library.build_library`) as ``<source id>.cif`` files in
    ``folder``; return the source ids."""
    folder = Path(folder)
    phases = build_library(min_spacing)
    for source_id, structure in progress(phases, desc="demo CIFs"):
        write_cif(structure, folder / f"{source_id}.cif")
    return [source_id for source_id, _ in phases]


def query_name(number: int, phase: int, mixture: bool, suffix: str) -> str:
    """``query_03_phase017.xye``: the query's number, the library index of its phase, ``_mixture`` if it has two."""
    return f"query_{number:02d}_phase{phase:03d}{'_mixture' if mixture else ''}{suffix}"


def write_demo_queries(
    library: list[Reflections],
    folder: str | os.PathLike[str],
    *,
    queries: int,
    wavelength: float,
    augmentation: dict[str, Any],
    seed: int,
) -> list[str]:
    """Simulated measured patterns of ``queries`` distinct library phases (as many as the library has, if fewer;
    with a warning), written as instruments export them:
    different ranges and steps, .xy and .xye (two-theta, counts, counting error) and .csv (two-theta, counts,
    with a header); the first is a two-phase mixture. One unreadable file (``query_broken.xy``) exercises the
    rejects. Returns the names written, the broken file last."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if queries > len(library):
        log.warning(
            "the library has %d phases: %d demo queries of distinct phases instead of %d",
            len(library),
            len(library),
            queries,
        )
        queries = len(library)
    rng = rng_for(seed, "xrd", "demo-queries")
    picks = rng.choice(len(library), queries, replace=False)
    names = []
    for number, index in enumerate(picks):
        start, step = float(rng.uniform(*QUERY_START)), float(rng.choice(QUERY_STEPS))
        grid = Grid(start, QUERY_STOP, step)
        mixture = 1.0 if number == 0 else 0.0
        pattern = augmented_set(
            library, np.array([index]), grid, wavelength, augmentation, rng, mixture_fraction=mixture
        )[0]
        counts = QUERY_COUNTS[0] * pattern + QUERY_COUNTS[1]
        suffix = QUERY_SUFFIXES[number % len(QUERY_SUFFIXES)]
        names.append(query_name(number, int(index), bool(mixture), suffix))
        if suffix == ".csv":
            lines = ["two_theta,counts"] + [f"{t:.4f},{c:.2f}" for t, c in zip(grid.two_theta, counts, strict=True)]
        else:
            errors = np.sqrt(counts)
            lines = [f"{t:.4f} {c:.2f} {e:.2f}" for t, c, e in zip(grid.two_theta, counts, errors, strict=True)]
        with atomic_path(folder / names[-1]) as tmp:
            tmp.write_text("\n".join(lines) + "\n")
    with atomic_path(folder / BROKEN_QUERY) as tmp:
        tmp.write_text("# truncated export\n10.00 12\n10.02 abc\n")
    names.append(BROKEN_QUERY)
    log.info("%d demo queries (phases %s) and one broken file in %s", queries, picks.tolist(), folder)
    return names
