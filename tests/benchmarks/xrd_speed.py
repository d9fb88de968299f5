"""Augmented patterns per second from the reflection cache vs pymatgen's own per-pattern rate, side by side.

Run: PYTHONPATH=src python tests/benchmarks/xrd_speed.py [--grid paper|demo]. Both sides produce one pattern per
structure over the same two-theta range for the same structures (pymatgen: a stick pattern with XRDCalculator;
the cache: a fully augmented pattern on the grid, profiles, noise and all, 100 copies per structure by default as
in the paper's training pool). Target: ratio >= 100. Each side runs ``--repeats`` times, alternating, and the
medians are compared. The cache side runs on one thread and on ``--threads`` threads (batches in parallel);
pymatgen's calculator has no parallel mode, its rate is one process's. Then the background-and-noise step alone is
timed, and each structure's pattern cost on both sides (the ratio grows with the size of the cell).
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings
from pathlib import Path

import numpy as np
import yaml
from pymatgen.analysis.diffraction.xrd import XRDCalculator

from fingerprintml.xrd.augment import COPY_BATCH, add_background_and_noise, augmented_set
from fingerprintml.xrd.library import pymatgen_shipped
from fingerprintml.xrd.patterns import Grid
from fingerprintml.xrd.reflections import compute_reflections, wavelength_of

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--grid", choices=["paper", "demo"], default="paper")
    parser.add_argument("--copies", type=int, default=100, help="augmented copies per structure")
    parser.add_argument("--threads", type=int, default=2, help="threads of the parallel cache run")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each side; medians are compared")
    args = parser.parse_args()
    config = yaml.safe_load((REPO / "config.yaml").read_text())["xrd"]
    grid = Grid.from_config(config["datasets"][args.grid]["grid"])
    wavelength = wavelength_of(config["wavelength"])
    structures = [s for _, s in pymatgen_shipped()]
    calculator = XRDCalculator(wavelength)

    def pymatgen_rate() -> float:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            started = time.perf_counter()
            for structure in structures:
                calculator.get_pattern(structure, two_theta_range=(grid.start, grid.stop))
            return len(structures) / (time.perf_counter() - started)

    caches = [compute_reflections(s, wavelength, grid.stop) for s in structures]
    labels = np.tile(np.arange(len(caches)), args.copies)
    started = time.perf_counter()  # compiled kernels: loaded from numba's cache (compiled on the very first run)
    augmented_set(caches, np.arange(len(caches)), grid, wavelength, config["augmentation"], np.random.default_rng(0))
    warm_up = time.perf_counter() - started
    pymatgen_rates = [pymatgen_rate()]
    cache_rates: dict[int, list[float]] = {1: [], args.threads: []}
    for _ in range(args.repeats):
        for threads in cache_rates:
            started = time.perf_counter()
            augmented_set(
                caches, labels, grid, wavelength, config["augmentation"], np.random.default_rng(0), threads=threads
            )
            cache_rates[threads].append(len(labels) / (time.perf_counter() - started))
            pymatgen_rates.append(pymatgen_rate())  # before and after each cache run: both sides see the same load
    pymatgen = float(np.median(pymatgen_rates))
    # The noise draw on every grid point alone caps the single-thread ratio, whatever the rest costs.
    noiseless, noise_only = copy.deepcopy(config["augmentation"]), copy.deepcopy(config["augmentation"])
    noiseless["noise"]["enabled"] = False
    noise_only["background"]["enabled"] = False
    rng = np.random.default_rng(1)
    expected = augmented_set(caches, labels, grid, wavelength, noiseless, rng)
    started = time.perf_counter()
    for begin in range(0, len(labels), COPY_BATCH):
        add_background_and_noise(expected[begin : begin + COPY_BATCH], grid, noise_only, rng)
    noise_rate = len(labels) / (time.perf_counter() - started)
    print(f"structures: {len(structures)} shipped with pymatgen; grid {args.grid}: {grid.size} points")
    print(f"warm-up (one pattern per structure, kernels loaded or compiled): {warm_up:.2f} s")
    spread = f"{min(pymatgen_rates):.1f}-{max(pymatgen_rates):.1f}"
    print(f"pymatgen XRDCalculator.get_pattern: {pymatgen:10.1f} patterns/s (unaugmented sticks; runs {spread})")
    for threads, rates in cache_rates.items():
        rate = float(np.median(rates))
        runs = f"runs {min(rates):.0f}-{max(rates):.0f}"
        print(
            f"reflection cache, augmented, {threads} thread(s): {rate:10.1f} patterns/s (all augmentations on; {runs})"
        )
        print(f"  ratio: {rate / pymatgen:.1f}x (target >= 100x)")
    cap = noise_rate / pymatgen
    print(
        f"counting noise step alone:          {noise_rate:10.1f} patterns/s (1 thread: caps that ratio at {cap:.1f}x)"
    )
    # pymatgen's cost grows with reflections x atoms, the cache's mostly with the grid: the ratio grows with the cell.
    print("per structure, 1 thread (ms per pattern; best of 3 runs each side):")
    print(f"  {'structure':16s} {'atoms':>5s} {'reflections':>11s} {'pymatgen':>9s} {'cache':>7s} {'ratio':>7s}")
    rows = []
    for (name, structure), cache in zip(pymatgen_shipped(), caches, strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reference = min(timed(calculator.get_pattern, structure, (grid.start, grid.stop)) for _ in range(3))
        ours = min(
            timed(augmented_set, [cache], np.zeros(args.copies, int), grid, wavelength, config["augmentation"], rng)
            for _ in range(3)
        )
        rows.append((len(cache.allowed.hkl), name, len(structure), reference, ours / args.copies))
    for reflections, name, atoms, reference, ours in sorted(rows):
        print(
            f"  {name:16s} {atoms:5d} {reflections:11d} {1e3 * reference:9.2f} {1e3 * ours:7.3f}",
            f"{reference / ours:6.0f}x",
        )


def timed(function, *args) -> float:
    """Seconds one call of ``function(*args)`` takes."""
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
