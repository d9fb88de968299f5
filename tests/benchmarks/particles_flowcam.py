"""The particles study's trust tables of a built dataset, side by side: the network (image + metadata), the
image-only ablation, metadata-only gradient boosting and the late fusion of those two (accuracy, macro F1,
per-class recall, ECE before/after temperature scaling), and per held-out acquisition session the class fractions
(argmax, EM with its bootstrap interval) against the truth. Reads results/particles/<dataset>/ as
`snakemake particles` left it.

Run: .venv/bin/python tests/benchmarks/particles_flowcam.py [flowcam | demo | results/particles/<dataset>]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
NETWORK, ABLATION, BASELINE, FUSION = "full", "image_only", "gbm_metadata", "fusion"


def folder_of(argument: str) -> Path:
    """A dataset name (results/particles/<name>) or a results folder."""
    path = Path(argument) if "/" in argument else REPO / "results/particles" / argument
    missing = [
        n for n in ("test_metrics.csv", "per_class_metrics.csv", "abundances_test.csv") if not (path / n).is_file()
    ]
    if missing:
        raise SystemExit(f"{path}: {missing} not found; build the dataset first (snakemake particles)")
    return path


def runs_table(folder: Path) -> pd.DataFrame:
    """One row per run: accuracy, macro F1, recall of each class, ECE before and after temperature scaling."""
    metrics = pd.read_csv(folder / "test_metrics.csv").set_index("run")
    recall = pd.read_csv(folder / "per_class_metrics.csv").pivot(index="run", columns="class", values="recall")
    table = metrics[["test_images", "accuracy", "macro_f1"]].join(recall.add_prefix("recall_"))
    if (folder / "calibration.csv").is_file():
        table = table.join(
            pd.read_csv(folder / "calibration.csv").set_index("run")[["temperature", "ece_before", "ece_after"]]
        )
    return table


def sessions_table(folder: Path) -> pd.DataFrame:
    """Per held-out session and class: particles, true, argmax and EM fractions, the interval, truth inside it."""
    table = pd.read_csv(folder / "abundances_test.csv")
    return table.assign(
        inside=(table["ci_low"] <= table["true_fraction"]) & (table["true_fraction"] <= table["ci_high"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", nargs="?", default="flowcam", help="dataset name or results folder")
    folder = folder_of(parser.parse_args().dataset)
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 30)
    runs = runs_table(folder)
    print(f"== {folder}: test set, the runs side by side")
    print(runs.round(3).to_string())
    f1 = runs["macro_f1"]
    for combined in (NETWORK, FUSION):
        if {combined, ABLATION, BASELINE} <= set(f1.index):
            beats = f1[combined] > max(f1[ABLATION], f1[BASELINE])
            print(
                f"image+metadata ({combined}) macro F1 {f1[combined]:.3f} vs image-only {f1[ABLATION]:.3f}, "
                f"metadata-only GBM {f1[BASELINE]:.3f}: {'beats both' if beats else 'does NOT beat both'}"
            )
    sessions = sessions_table(folder)
    print("\n== held-out sessions: class fractions (true, argmax, EM [bootstrap interval])")
    columns = ["run", "sample", "class", "n", "true_fraction", "raw_fraction", "em_fraction", "ci_low", "ci_high"]
    columns.append("inside")
    print(sessions[columns].round(3).to_string(index=False))
    errors = sessions.assign(
        raw_error=(sessions["raw_fraction"] - sessions["true_fraction"]).abs(),
        em_error=(sessions["em_fraction"] - sessions["true_fraction"]).abs(),
    )
    per_session = errors.groupby(["run", "sample"], sort=False).agg(
        n=("n", "first"),
        raw_max_error=("raw_error", "max"),
        em_max_error=("em_error", "max"),
        all_inside=("inside", "all"),
    )
    print("\n== per run and session: largest error of a class fraction, every truth inside its interval")
    print(per_session.round(3).to_string())
    print(
        f"\n{int(sessions['inside'].sum())} of {len(sessions)} session-class fractions inside their interval; "
        f"{int(per_session['all_inside'].sum())} of {len(per_session)} run-sessions entirely; "
        f"mean |error| argmax {errors['raw_error'].mean():.3f}, EM {errors['em_error'].mean():.3f}"
    )
    if (folder / "novelty.csv").is_file():
        novelty = pd.read_csv(folder / "novelty.csv", keep_default_na=False)
        print("\n== novelty (flagged above the validation quantile)")
        print(novelty.groupby("part", sort=False)[["n", "flagged"]].sum().to_string())


if __name__ == "__main__":
    main()
