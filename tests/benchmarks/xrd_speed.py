"""Augmented patterns per second from the reflection cache vs pymatgen's own per-pattern rate, side by side.

Run: PYTHONPATH=src python tests/benchmarks/xrd_speed.py [--grid paper|demo]. Both sides produce one pattern per
structure over the same two-theta range for the same structures (pymatgen: a stick pattern with XRDCalculator;
the cache: a fully augmented pattern on the grid, profiles, noise and all; all copies of a structure go through
the chain as one batch, 100 copies per structure by default as in the paper's training pool). Target: ratio >= 100.
The cache side runs on one thread and on ``--threads`` threads (structures in parallel); pymatgen's calculator has
no parallel mode, its rate is one process's. The last line times the counting-noise step alone (on the same
augmented patterns before noise, in the same batches), the part of each pattern's cost that no batching removes.
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
    args = parser.parse_args()
    config = yaml.safe_load((REPO / "config.yaml").read_text())["xrd"]
    grid = Grid.from_config(config["grid"][args.grid])
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
    cache_rates = {}
    for threads in (1, args.threads):
        started = time.perf_counter()
        augmented_set(
            caches, labels, grid, wavelength, config["augmentation"], np.random.default_rng(0), threads=threads
        )
        cache_rates[threads] = len(labels) / (time.perf_counter() - started)
        pymatgen_rates.append(pymatgen_rate())  # before and after each cache run: both sides see the same load
    pymatgen = float(np.mean(pymatgen_rates))
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
    for threads, rate in cache_rates.items():
        print(f"reflection cache, augmented, {threads} thread(s): {rate:10.1f} patterns/s (all augmentations on)")
        print(f"  ratio: {rate / pymatgen:.1f}x (target >= 100x)")
    cap = noise_rate / pymatgen
    print(
        f"counting noise step alone:          {noise_rate:10.1f} patterns/s (1 thread: caps that ratio at {cap:.1f}x)"
    )


if __name__ == "__main__":
    main()
