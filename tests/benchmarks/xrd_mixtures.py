"""Mixture identification by the trained demo model: simulated single-phase and two-phase "measured" patterns
through the identify path (network candidates, whole-pattern fit), scored against the phases they hold.

Run after a demo run: PYTHONPATH=src python tests/benchmarks/xrd_mixtures.py --workdir DIR [--queries 40], DIR
being the folder the demo ran in (results/xrd/demo/ under it). Prints how often a single phase is named first and
alone, and how often a two-phase mixture (minor phase at 0.3-0.8 of the major) has both phases named.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml

from fingerprintml.xrd.augment import add_background_and_noise, augmented_set
from fingerprintml.xrd.identify import IdentifySettings, fit_library, identify_pattern
from fingerprintml.xrd.patterns import Grid, Preprocessing
from fingerprintml.xrd.refine import Radiation
from fingerprintml.xrd.reflections import wavelength_of
from fingerprintml.xrd.store import load_caches
from fingerprintml.xrd.train import load_identifier, predict_logits

REPO = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--queries", type=int, default=40, help="single-phase and two-phase queries each")
    args = parser.parse_args()
    config = yaml.safe_load((REPO / "config.yaml").read_text())["xrd"]
    grid, wavelength = Grid.from_config(config["datasets"]["demo"]["grid"]), wavelength_of(config["wavelength"])
    settings, identify = config["augmentation"], config["identify"]
    preprocessing = Preprocessing.from_config(config["preprocessing"])
    noiseless = copy.deepcopy(settings)
    noiseless["noise"]["enabled"] = noiseless["background"]["enabled"] = False
    results = args.workdir / "results" / "xrd" / "demo"
    caches = load_caches(results / "library" / "reflections.pkl")
    device = torch.device("cpu")
    model, classes = load_identifier(str(results / "models" / "copy.pt"), device)
    library = fit_library([caches[c] for c in classes], pd.read_csv(results / "library" / "phases.csv").iloc[classes])
    radiation = Radiation(wavelength, settings["kalpha2"]["wavelength"], settings["kalpha2"]["ratio"])
    rng = np.random.default_rng(11)

    def identified(labels: list[int], weights: list[float]) -> list[int]:
        peaks = sum(
            w * augmented_set(caches, np.array([classes[label]]), grid, wavelength, noiseless, rng)
            for label, w in zip(labels, weights, strict=True)
        )
        counts = rng.poisson(1000 * add_background_and_noise(peaks, grid, settings, rng)[0] + 50).astype(float)
        components, _ = identify_pattern(
            grid.two_theta,
            counts,
            radiation,
            lambda x: predict_logits(model, x, device),
            library,
            grid=grid,
            model_wavelength=wavelength,
            settings=IdentifySettings.from_config(identify, config["datasets"]["demo"]["candidates"]),
            preprocessing=preprocessing,
        )
        return [int(c.top[0]) for c in components]

    n = len(classes)
    labels = rng.integers(n, size=args.queries).tolist()
    singles = [identified([label], [1.0]) for label in labels]
    pairs = [rng.choice(n, 2, replace=False).tolist() for _ in range(args.queries)]
    mixtures = [identified(pair, [1.0, float(rng.uniform(0.3, 0.8))]) for pair in pairs]
    first = sum(found[0] == label for found, label in zip(singles, labels, strict=True) if found)
    alone = sum(found == [label] for found, label in zip(singles, labels, strict=True))
    both = sum(set(pair) <= set(found) for found, pair in zip(mixtures, pairs, strict=True))
    major = sum(found[:1] == pair[:1] for found, pair in zip(mixtures, pairs, strict=True))
    print(f"{n} phases; {args.queries} single-phase and {args.queries} two-phase queries")
    print(f"single phase named first: {first}/{args.queries}; named first and alone: {alone}/{args.queries}")
    print(f"mixtures: major phase first {major}/{args.queries}; both phases named {both}/{args.queries}")


if __name__ == "__main__":
    main()
