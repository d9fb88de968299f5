"""Figures of the xrd study: learning curves, accuracy vs augmentation strength, example identifications, the
reliability of the reported confidence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fingerprintml.plotting import OKABE_ITO, figure


def learning_curves(histories: dict[str, pd.DataFrame]):
    """Loss and top-1 accuracy (training / validation copies) and the AdaCos scale per epoch, one colour per split's
    model (histories with the project's columns: train_loss, val_loss, train_accuracy, val_accuracy)."""
    fig, axes = figure("double", 0.3, ncols=3)
    for split, history in histories.items():
        (line,) = axes[0].plot(history["epoch"], history["train_loss"], "--", label=f"{split}: training copies")
        axes[0].plot(history["epoch"], history["val_loss"], color=line.get_color(), label=f"{split}: validation copies")
        axes[1].plot(history["epoch"], history["train_accuracy"], "--", color=line.get_color())
        axes[1].plot(history["epoch"], history["val_accuracy"], color=line.get_color())
        axes[2].plot(history["epoch"], history["adacos_scale"], color=line.get_color(), label=split)
    axes[0].set(xlabel="epoch", ylabel="loss")
    axes[0].legend()
    axes[1].set(xlabel="epoch", ylabel="top-1 accuracy", ylim=(0, 1.02))
    axes[2].set(xlabel="epoch", ylabel="AdaCos scale s")
    return fig


def accuracy_vs_strength(table: pd.DataFrame):
    """Top-1 and top-5 against the augmentation strength multiplier (1 = training strength)."""
    fig, ax = figure("single", 0.7)
    for metric, rows in table.groupby("metric"):
        ax.plot(rows["strength"], rows["value"], "o-", label=metric)
    ax.axvline(1.0, color="0.6", lw=0.6, ls=":")
    ax.set(xlabel="augmentation strength (x training)", ylabel="accuracy", ylim=(0, 1.02))
    ax.legend()
    return fig


def example_patterns(examples: dict[str, np.ndarray], phases: pd.DataFrame):
    """Held-out augmented patterns (up, black) with the best candidate's reference pattern mirrored below and the
    top-5 candidates with their scores listed."""
    n = len(examples["labels"])
    fig, axes = figure("double", 0.22 * n, nrows=n, sharex=True, squeeze=False)
    x = examples["two_theta"]
    for row, ax in enumerate(axes[:, 0]):
        truth = phases["phase_id"].iloc[int(examples["labels"][row])]
        ax.plot(x, examples["patterns"][row], color="k", lw=0.6)
        ax.plot(x, -examples["references"][row, 0], lw=0.6)
        candidates = [
            f"{rank + 1}. {phases['phase_id'].iloc[int(index)]} ({score:.3f})"
            for rank, (index, score) in enumerate(zip(examples["top5"][row], examples["scores"][row], strict=True))
        ]
        ax.set_title(f"query: {truth}", loc="left", fontsize=6)
        ax.text(1.01, 0.5, "\n".join(candidates), transform=ax.transAxes, fontsize=5, va="center")
        ax.set_yticks([])
    axes[-1, 0].set_xlabel("2θ (deg)")
    return fig


def reliability_diagram(table: pd.DataFrame, summary: dict):
    """Share of reported phases truly present against their mean confidence per bin (marker area by count) on the
    held-out simulated mixtures, with the ECE of the calibrated confidence and of taking every phase as certain."""
    fig, ax = figure("single", 0.9)
    bins = table[table["count"].astype(int) > 0].astype({"confidence": float, "accuracy": float, "count": int})
    ax.plot([0, 1], [0, 1], color="0.6", lw=0.6, ls="--")
    ax.plot(bins["confidence"], bins["accuracy"], color=OKABE_ITO[0], lw=0.6)
    label = f"calibrated: ECE {summary['ece']:.3f}\n(every phase certain: ECE {summary['ece_certain']:.3f})"
    ax.scatter(bins["confidence"], bins["accuracy"], s=4 + 2 * bins["count"], color=OKABE_ITO[0], label=label, zorder=3)
    ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="confidence", ylabel="share truly present")
    ax.set_title(f"held-out simulated mixtures ({summary['held_out_phases']} reported phases)", fontsize=7)
    ax.legend(loc="upper left", fontsize=6)
    return fig
