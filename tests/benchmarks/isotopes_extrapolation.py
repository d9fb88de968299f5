"""Does a better leave-one-out score predict where a model puts the external natural samples?

Every point that the hyperparameter searches of a finished paper run evaluated is refitted on all 113 training
samples, and the fraction of the 142 external natural samples it places under Natural is set beside its
leave-one-out hF1. Two thirds of those samples lie outside the training range of the natural class, so the
fraction measures extrapolation. If it does not rise with the leave-one-out score, no choice made on the training
data can aim for it.

Run after the paper run (``snakemake -c2 isotopes --config isotopes='{"dataset": "paper"}' ...``):
PYTHONPATH=src .venv/bin/python tests/benchmarks/isotopes_extrapolation.py [results/isotopes/paper]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fingerprintml.isotopes.data import load_table
from fingerprintml.isotopes.evaluate import natural_fraction
from fingerprintml.isotopes.models import fit_model, predict_paths
from fingerprintml.isotopes.search import best_params

REPO = Path(__file__).resolve().parents[2]


def main(results: Path) -> None:
    # The run's own config (seed, models, spaces), as its provenance recorded it, not today's config.yaml.
    config = yaml.safe_load((results / "provenance.yaml").read_text())["config"]["isotopes"]
    X, Y = load_table(results / "data" / "train.csv")
    X_ext, _ = load_table(results / "data" / "external.csv")
    print(f"{'run':<20} {'points':>6} {'LOO hF1':>13} {'ext. Natural':>13} {'r':>6} {'at best LOO':>12}")
    for model in config["models"]:
        for learner in config["learners"]:
            path = results / "search" / f"{model}-{learner}.csv"
            if model == "selective" or not path.exists():
                continue
            points = pd.read_csv(path)
            space = config["search"]["space"][learner]
            natural = np.array(
                [
                    natural_fraction(
                        predict_paths(
                            fit_model(model, learner, best_params(points.loc[[i]], space), config["seed"], X, Y), X_ext
                        )
                    )
                    for i in points.index
                ]
            )
            scores = points["hF1"].to_numpy()
            r = np.corrcoef(scores, natural)[0, 1] if natural.std() > 0 else float("nan")
            print(
                f"{f'{model}-{learner}':<20} {len(points):>6} {scores.min():>6.3f}-{scores.max():.3f}"
                f" {natural.min():>6.3f}-{natural.max():.3f} {r:>6.2f} {natural[np.argmax(scores)]:>12.3f}"
            )


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "results" / "isotopes" / "paper")
