"""Figures of the isotopes study, all in the shared style (fingerprintml.plotting)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from fingerprintml.isotopes.data import FEATURE_LABELS, FEATURES
from fingerprintml.isotopes.models import predict_paths
from fingerprintml.plotting import OKABE_ITO, figure

LEVEL_TITLES = {0: "source", 1: "species"}
# One colour per class on every panel: the engineered species share the blue family of their parent.
CLASS_COLOURS = {
    "Engineered": OKABE_ITO[0],
    "Engineered:Mag": OKABE_ITO[0],
    "Engineered:Mgh": OKABE_ITO[5],
    "Incidental": OKABE_ITO[1],
    "Natural": OKABE_ITO[2],
}


def _grid(train: pd.DataFrame, external: pd.DataFrame, n: int) -> tuple[np.ndarray, np.ndarray]:
    points = pd.concat([train[FEATURES], external[FEATURES]])
    lo, hi = points.min().to_numpy(), points.max().to_numpy()
    pad = 0.05 * (hi - lo)
    return np.linspace(lo[0] - pad[0], hi[0] + pad[0], n), np.linspace(lo[1] - pad[1], hi[1] + pad[1], n)


def run_title(model: str, learner: str) -> str:
    """A run's name for a figure title: ``LCPN + extra trees``, ``flat + svc``, ``selective + per node``."""
    name = model if model in ("flat", "selective") else model.upper()
    return f"{name} + {learner.replace('_', ' ')}"


def decision_regions(estimator, title: str, train: pd.DataFrame, external: pd.DataFrame, grid_points: int, domain=None):
    """Source-level and species-level decision regions in the (delta18O, delta56Fe) plane, with the
    training samples coloured by their true class and the external test samples as crosses; with ``domain`` (a
    fitted :class:`~fingerprintml.isotopes.trust.ApplicabilityDomain`) the points outside the applicability domain
    of their predicted source hatched in grey."""
    gx, gy = _grid(train, external, grid_points)
    xx, yy = np.meshgrid(gx, gy)
    grid = np.column_stack([xx.ravel(), yy.ravel()])
    predicted = predict_paths(estimator, grid)
    outside = None if domain is None else (domain.score(grid, predicted[:, 0]) < 0).reshape(xx.shape)
    fig, axes = figure("double", aspect=0.42, ncols=2, sharey=True)
    for depth, ax in enumerate(axes):
        labels = np.array([":".join(p for p in row[: depth + 1] if p) for row in predicted])
        true = np.array(
            [
                ":".join(p for p in row if p)
                for row in train[["source", "species", "route"][: depth + 1]].to_numpy(dtype=str)
            ]
        )
        classes = sorted(set(labels) | set(true))
        colours = {c: CLASS_COLOURS.get(c, OKABE_ITO[3 + k % 4]) for k, c in enumerate(classes)}
        index = np.array([classes.index(label) for label in labels]).reshape(xx.shape)
        cmap = ListedColormap([colours[c] for c in classes])
        ax.contourf(xx, yy, index, levels=np.arange(len(classes) + 1) - 0.5, cmap=cmap, alpha=0.25)
        ax.contour(xx, yy, index, levels=np.arange(len(classes)) + 0.5, colors="0.3", linewidths=0.4)
        if outside is not None and outside.any():
            ax.contourf(xx, yy, outside.astype(float), levels=[0.5, 1.5], colors="0.55", alpha=0.3, hatches=["////"])
        for c in classes:
            mask = true == c
            ax.scatter(
                train.loc[mask, "d18O"],
                train.loc[mask, "d56Fe"],
                s=9,
                color=colours[c],
                edgecolor="k",
                linewidth=0.3,
                zorder=3,
            )
        ax.scatter(external["d18O"], external["d56Fe"], s=10, marker="x", color="0.15", linewidth=0.6, zorder=4)
        handles = [Line2D([], [], ls="", marker="o", color=colours[c], markeredgecolor="k", label=c) for c in classes]
        handles.append(Line2D([], [], ls="", marker="x", color="0.15", label="external (Natural)"))
        if outside is not None and outside.any():
            handles.append(Patch(facecolor="0.55", alpha=0.3, hatch="////", label="outside domain"))
        ax.legend(handles=handles, loc="upper right", fontsize=5.5, handletextpad=0.2, borderpad=0.2)
        ax.set_title(f"{title}: {LEVEL_TITLES[depth]} level")
        ax.set_xlabel(FEATURE_LABELS["d18O"])
    axes[0].set_ylabel(FEATURE_LABELS["d56Fe"])
    return fig


def convergence(points: dict[str, pd.DataFrame]):
    """Best-so-far hierarchical F1 against the number of evaluated points, one panel per model and one colour
    per base learner. The selective model's points come node by node (its learners compete at each parent
    node), so its best-so-far line is black and dotted lines mark where the search moves to the next node."""
    order = ["flat", "lcpn", "lcppn", "lcpl", "selective"]
    models = sorted({run.split("-")[0] for run in points}, key=order.index)
    learners = [learner for run, df in points.items() for learner in df.get("learner", [run.split("-", 1)[1]])]
    colours = {learner: OKABE_ITO[k % len(OKABE_ITO)] for k, learner in enumerate(dict.fromkeys(learners))}
    fig, axes = figure("double", aspect=0.3, ncols=len(models), sharey=True, squeeze=False)
    for ax, model in zip(axes[0], models, strict=True):
        for run, df in points.items():
            if run.split("-")[0] != model:
                continue
            if "node" in df:
                ax.plot(df["call"], df["best_hF1"], color="black", lw=1)
                ax.scatter(df["call"], df["hF1"], s=4, c=df["learner"].map(colours), alpha=0.6)
                for node, rows in df.groupby("node", sort=False):
                    first = rows["call"].min()
                    if first > df["call"].min():
                        ax.axvline(first - 0.5, color="0.6", lw=0.5, ls=":")
                    label = "root" if node == df["node"].iloc[0] else _short(node)
                    ax.annotate(label, (first, 0.02), xycoords=("data", "axes fraction"), fontsize=5, rotation=90)
            else:
                colour = colours[run.split("-", 1)[1]]
                ax.plot(df["call"], df["best_hF1"], color=colour)
                ax.scatter(df["call"], df["hF1"], s=4, color=colour, alpha=0.5)
        ax.set_title(model if model in ("flat", "selective") else model.upper())
        ax.set_xlabel("evaluated points")
    axes[0][0].set_ylabel("hierarchical F1 (CV)")
    handles = [Line2D([], [], color=c, label=learner.replace("_", " ")) for learner, c in colours.items()]
    axes[0][0].legend(handles=handles, loc="lower right")
    return fig


def model_comparison(table: pd.DataFrame):
    """Grouped bars: CV hF1 by the original's protocol, without the root, nested, and the external Natural fraction."""
    metrics = {
        "hF1": "hF1 (original protocol)",
        "hF1_no_root": "hF1 without root",
        "nested_hF1": "hF1 nested CV",
        "external_natural": "external: Natural",
    }
    # Two-word learner names ('extra_trees', 'majority leaf') on two lines, so 14 neighbouring labels do not overlap.
    runs = table.assign(run=table["model"] + "\n" + table["learner"].str.replace(r"[_ ]", "\n", regex=True))
    fig, ax = figure("double", aspect=0.35)
    x = np.arange(len(runs))
    width = 0.8 / len(metrics)
    for k, (column, label) in enumerate(metrics.items()):
        ax.bar(x + (k - (len(metrics) - 1) / 2) * width, runs[column], width, label=label)
    ax.set_xticks(x, runs["run"], fontsize=6)
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.legend(ncols=len(metrics), loc="upper center", bbox_to_anchor=(0.5, 1.15))
    return fig


def _short(node: str) -> str:
    """A node name without its source ('Engineered:Mag:EP' -> 'Mag:EP'), as the source is implied below it."""
    parts = node.split(":")
    return ":".join(parts[1:]) if len(parts) > 1 else node


def confusion_matrices(confusion: pd.DataFrame):
    """One confusion matrix (counts) per hierarchy level of the best run's out-of-fold predictions."""
    levels = list(dict.fromkeys(confusion["level"]))
    fig, axes = figure("double", aspect=0.36, ncols=len(levels), layout="constrained")
    for ax, level in zip(np.atleast_1d(axes), levels, strict=True):
        part = confusion[confusion["level"] == level]
        matrix = part.pivot_table(index="true", columns="predicted", values="count", fill_value=0, aggfunc="sum")
        # Same order on both axes (the diagonal is right), predictions that stop above the level last.
        rows = sorted(matrix.index)
        columns = rows + sorted(c for c in matrix.columns if c not in rows and c != "(none)")
        if "(none)" in matrix.columns:
            columns.append("(none)")
        matrix = matrix.reindex(index=rows, columns=columns, fill_value=0)
        ax.imshow(matrix.to_numpy(), cmap="Blues")
        for (r, c), value in np.ndenumerate(matrix.to_numpy()):
            ax.text(
                c,
                r,
                str(value),
                ha="center",
                va="center",
                fontsize=6,
                color="white" if value > matrix.to_numpy().max() / 2 else "black",
            )
        ax.set_xticks(range(len(columns)), [_short(n) for n in columns], rotation=45, ha="right", fontsize=6)
        ax.set_yticks(range(len(rows)), [_short(n) for n in rows], fontsize=6)
        ax.set_title(f"{level} level")
        ax.set_xlabel("predicted")
        ax.spines[["top", "right"]].set_visible(True)
    np.atleast_1d(axes)[0].set_ylabel("true")
    fig.suptitle(f"{confusion['run'].iloc[0]}: out-of-fold predictions", fontsize=8)
    return fig


def reliability_diagrams(reliability: pd.DataFrame, calibration: pd.DataFrame, run: str):
    """Reliability diagrams of one run, a panel per level: accuracy against mean confidence of each bin before
    (open) and after (filled) calibration, marker area by count, the ECE of each in the legend."""
    bins = reliability[(reliability["run"] == run) & (reliability["count"].astype(int) > 0)]
    bins = bins.astype({"confidence": float, "accuracy": float, "count": int})  # empty bins were blank cells
    ece = calibration[calibration["run"] == run].set_index("level")
    levels = list(dict.fromkeys(bins["level"]))
    fig, axes = figure("double", aspect=0.36, ncols=len(levels), sharey=True, squeeze=False)
    for ax, level in zip(axes[0], levels, strict=True):
        ax.plot([0, 1], [0, 1], color="0.6", lw=0.6, ls="--")
        for stage, fill, colour in (("before", "none", OKABE_ITO[1]), ("after", OKABE_ITO[0], OKABE_ITO[0])):
            part = bins[(bins["level"] == level) & (bins["stage"] == stage)]
            label = f"{stage}: ECE {ece.loc[level, f'ece_{stage}']:.3f}"
            ax.plot(part["confidence"], part["accuracy"], color=colour, lw=0.6)
            ax.scatter(
                part["confidence"],
                part["accuracy"],
                s=4 + 2 * part["count"],
                facecolor=fill,
                edgecolor=colour,
                label=label,
                zorder=3,
            )
        ax.set_xlim(0, 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_title(f"{level} level (n = {int(ece.loc[level, 'n'])})")
        ax.set_xlabel("confidence (out of fold)")
        ax.legend(loc="upper left", fontsize=6)
    axes[0][0].set_ylabel("accuracy")
    fig.suptitle(f"{run}: per-level calibration", fontsize=8)
    return fig
