"""Figures of the particles study: learning curves, confusion matrix, UMAP of the test embeddings, reliability."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fingerprintml.plotting import OKABE_ITO, figure


def learning_curves(history: pd.DataFrame):
    """Loss and accuracy per epoch (training and validation) of each run (the ``run`` column of ``history``)."""
    fig, (loss_ax, accuracy_ax) = figure("double", aspect=0.32, ncols=2)
    for colour, (run, rows) in zip(OKABE_ITO, history.groupby("run", sort=False), strict=False):
        for column, style in (("train", "--"), ("val", "-")):
            loss_ax.plot(rows["epoch"], rows[f"{column}_loss"], style, color=colour, label=f"{run} {column}")
            accuracy_ax.plot(rows["epoch"], rows[f"{column}_accuracy"], style, color=colour, label=f"{run} {column}")
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


def umap_projection(
    predictions: pd.DataFrame, embeddings: np.ndarray, *, n_neighbors: int, min_dist: float, seed: int
) -> pd.DataFrame:
    """The test images (path, class, prediction) with the 2-D UMAP (``umap_1``, ``umap_2``) of their embeddings."""
    import umap  # only here: its import (numba) is slow, and the other figures do not need it

    if len(predictions) != len(embeddings):
        raise ValueError(f"{len(predictions)} test predictions but {len(embeddings)} embeddings")
    reducer = umap.UMAP(n_neighbors=n_neighbors, min_dist=min_dist, random_state=seed, n_jobs=1)
    coordinates = reducer.fit_transform(embeddings)
    return predictions[["path", "class", "prediction"]].assign(umap_1=coordinates[:, 0], umap_2=coordinates[:, 1])


def umap_figure(projection: pd.DataFrame, classes: list[str]):
    """2-D UMAP of the test-set image embeddings (a :func:`umap_projection` table), one colour per true class."""
    fig, ax = figure("single", aspect=0.85)
    for colour, name in zip(OKABE_ITO, classes, strict=False):
        points = projection[projection["class"] == name]
        ax.scatter(points["umap_1"], points["umap_2"], s=4, color=colour, label=name, linewidths=0)
    ax.set(xlabel="UMAP 1", ylabel="UMAP 2", xticks=[], yticks=[])
    ax.legend(markerscale=2, loc="best", ncols=2)
    return fig


def reliability_figure(bins: pd.DataFrame, calibration: pd.DataFrame):
    """Reliability diagrams of the test predictions, a panel per run: accuracy against mean confidence of each
    bin before (open) and after (filled) temperature scaling, marker area by count, the ECE of each in the legend."""
    bins = bins[bins["count"].astype(int) > 0].astype({"confidence": float, "accuracy": float, "count": int})
    ece = calibration.set_index("run")
    runs = list(ece.index)
    fig, axes = figure("double", aspect=0.36, ncols=len(runs), sharey=True, squeeze=False)
    for ax, run in zip(axes[0], runs, strict=True):
        ax.plot([0, 1], [0, 1], color="0.6", lw=0.6, ls="--")
        for stage, fill, colour in (("before", "none", OKABE_ITO[1]), ("after", OKABE_ITO[0], OKABE_ITO[0])):
            part = bins[(bins["run"] == run) & (bins["stage"] == stage)]
            ax.plot(part["confidence"], part["accuracy"], color=colour, lw=0.6)
            ax.scatter(
                part["confidence"],
                part["accuracy"],
                s=4 + part["count"] * 100 / max(1, int(ece.loc[run, "test_images"])),
                facecolor=fill,
                edgecolor=colour,
                label=f"{stage}: ECE {ece.loc[run, f'ece_{stage}']:.3f}",
                zorder=3,
            )
        ax.set(xlim=(0, 1.02), ylim=(0, 1.02), xlabel="confidence (test)")
        ax.set_title(f"{run} (T = {ece.loc[run, 'temperature']:.2f})")
        ax.legend(loc="upper left", fontsize=6)
    axes[0][0].set_ylabel("accuracy")
    return fig
