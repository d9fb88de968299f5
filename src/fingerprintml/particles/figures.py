"""Figures of the particles study: learning curves, confusion matrix, UMAP of the test embeddings."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fingerprintml.plotting import OKABE_ITO, figure


def learning_curves(histories: dict[str, pd.DataFrame]):
    """Loss and accuracy per epoch (training and validation) of each run."""
    fig, (loss_ax, accuracy_ax) = figure("double", aspect=0.32, ncols=2)
    for colour, (run, history) in zip(OKABE_ITO, histories.items(), strict=False):
        for column, style in (("train", "--"), ("val", "-")):
            loss_ax.plot(history["epoch"], history[f"{column}_loss"], style, color=colour, label=f"{run} {column}")
            accuracy_ax.plot(
                history["epoch"], history[f"{column}_accuracy"], style, color=colour, label=f"{run} {column}"
            )
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy")
    accuracy_ax.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.02))
    accuracy_ax.legend(loc="lower right")
    return fig


def confusion_figure(confusion: pd.DataFrame):
    """Row-normalised confusion matrix (recall on the diagonal) with the counts written in the cells."""
    classes = list(confusion["true"])
    counts = confusion[classes].to_numpy(dtype=float)
    fractions = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = figure("single", aspect=0.9)
    ax.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(classes)):
        for j in range(len(classes)):
            if counts[i, j]:
                ax.text(
                    j,
                    i,
                    f"{int(counts[i, j])}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if fractions[i, j] > 0.5 else "black",
                )
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="predicted class", ylabel="true class")
    ax.spines[:].set_visible(False)
    return fig


def umap_figure(coordinates: np.ndarray, labels: list[str], classes: list[str]):
    """2-D UMAP of the test-set image embeddings, one colour per true class."""
    fig, ax = figure("single", aspect=0.85)
    labels = np.asarray(labels)
    for colour, name in zip(OKABE_ITO, classes, strict=False):
        points = coordinates[labels == name]
        ax.scatter(points[:, 0], points[:, 1], s=4, color=colour, label=name, linewidths=0)
    ax.set(xlabel="UMAP 1", ylabel="UMAP 2", xticks=[], yticks=[])
    ax.legend(markerscale=2, loc="best", ncols=2)
    return fig
