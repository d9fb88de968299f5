"""Figures: one per spectrum (spectrum, identified lines, probabilities, activities), error matrices, ROC curves."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from fingerprintml.gamma.metrics import probabilities_by_method
from fingerprintml.logs import progress
from fingerprintml.plotting import OKABE_ITO, figure, save_figure


def spectrum_figure(
    rates: np.ndarray,
    prediction: pd.Series,
    lines: pd.DataFrame,
    nuclides: list[str],
    truth: str | None = None,
):
    """Count rate per keV with the lines of the identified nuclides marked, the probability of each nuclide and
    the estimated activities (with standard uncertainties)."""
    fig, (spectrum_ax, probability_ax) = figure(
        "double", 0.42, 1, 2, gridspec_kw={"width_ratios": [3.2, 1]}, constrained_layout=True
    )
    energy = np.arange(len(rates)) + 0.5
    spectrum_ax.semilogy(energy, np.maximum(rates, 1e-3), color="0.3", lw=0.6)
    found = [n for n in str(prediction["nuclides"]).split("+") if n]
    for nuclide in found:
        colour = OKABE_ITO[nuclides.index(nuclide) % len(OKABE_ITO)]
        marked = lines[(lines["nuclide"] == nuclide) & (lines["energy_kev"] < len(rates))]
        for k, energy_kev in enumerate(marked["energy_kev"]):
            spectrum_ax.axvline(energy_kev, color=colour, lw=0.7, ls="--", label=nuclide if k == 0 else None)
    spectrum_ax.set(xlabel="Energy (keV)", ylabel="Count rate (1/s/keV)", xlim=(0, len(rates)))
    if found:
        spectrum_ax.legend(loc="upper right", ncols=2)
    title = f"{prediction['file']}: {prediction['nuclides'] or 'no source'}"
    spectrum_ax.set_title(title + (f" (true: {truth or 'background'})" if truth is not None else ""))
    probabilities = [prediction[f"p_{n}"] for n in nuclides]
    bars = probability_ax.barh(nuclides, probabilities, color=[OKABE_ITO[i % 8] for i in range(len(nuclides))])
    for bar, nuclide in zip(bars, nuclides, strict=True):
        activity = prediction[f"activity_bq_{nuclide}"]
        if pd.notna(activity) and activity != "":
            label = f"{float(activity) / 1e3:.1f}±{float(prediction[f'activity_sd_bq_{nuclide}']) / 1e3:.1f} kBq"
            probability_ax.text(0.02, bar.get_y() + bar.get_height() / 2, label, va="center", fontsize=6)
    probability_ax.set(xlim=(0, 1), xlabel="Probability")
    probability_ax.invert_yaxis()
    return fig


def confusion_figure(binary: pd.DataFrame, per_nuclide: pd.DataFrame, method: str):
    """Binary error matrices of every detection method, and the per-nuclide error matrices of ``method``."""
    methods = list(dict.fromkeys(binary["method"]))
    nuclides = list(dict.fromkeys(per_nuclide["nuclide"]))
    n_cols = max(len(methods), len(nuclides))
    fig, axes = figure("double", 0.5, 2, n_cols, constrained_layout=True, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    fig.suptitle(f"Top: source detection. Bottom: identification by {method.replace('_', ' ')}.")
    panels = [
        (m.replace("_", " "), binary[binary["method"] == m].pivot(index="true", columns="predicted", values="count"))
        for m in methods
    ]
    chosen = per_nuclide[per_nuclide["method"] == method].set_index("nuclide")
    nuclide_panels = [
        (
            n,
            pd.DataFrame([[chosen.at[n, "tn"], chosen.at[n, "fp"]], [chosen.at[n, "fn"], chosen.at[n, "tp"]]]),
        )
        for n in nuclides
    ]
    for row, items in enumerate([panels, nuclide_panels]):
        for ax, (title, matrix) in zip(axes[row], items, strict=False):
            ax.set_axis_on()
            values = matrix.to_numpy()
            ax.imshow(values, cmap="Blues")
            for (i, j), value in np.ndenumerate(values):
                ax.text(j, i, int(value), ha="center", va="center", fontsize=6, color="black")
            ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["no", "yes"], yticklabels=["no", "yes"], title=title)
            ax.set_xlabel("predicted", fontsize=6)
            ax.set_ylabel("true", fontsize=6)
    return fig


def roc_figure(truth: np.ndarray, probabilities: dict[str, np.ndarray], nuclides: list[str]):
    """Per-nuclide ROC curves of every multilabel method."""
    fig, axes = figure("double", 0.3, 1, len(nuclides), constrained_layout=True, sharey=True, squeeze=False)
    for k, (ax, nuclide) in enumerate(zip(axes[0], nuclides, strict=True)):
        for method, probability in probabilities.items():
            fpr, tpr, _ = roc_curve(truth[:, k], probability[:, k])
            ax.plot(fpr, tpr, label=method.replace("_", " "))
        ax.plot([0, 1], [0, 1], color="0.7", lw=0.5, ls=":")
        ax.set(title=nuclide, xlabel="False positive rate", xlim=(-0.02, 1), ylim=(0, 1.02))
    axes[0, 0].set_ylabel("True positive rate")
    axes[0, -1].legend(loc="lower right", fontsize=5)
    return fig


def spectra_to_draw(labels: pd.DataFrame, nuclides: list[str], max_spectra: int | None) -> pd.Series:
    """The test spectra to draw, ``{file: true content}`` ('' for background): one of every label combination
    first (background first of all, then in file order of first appearance), then the rest in file order, at most
    ``max_spectra`` (None: all)."""
    labels = labels.set_index("file")
    truth = labels[nuclides].apply(lambda row: "+".join(n for n in nuclides if row[n]), axis=1)
    first = truth.reset_index().sort_values(0, key=lambda c: c != "", kind="stable").drop_duplicates(0)["file"]
    order = list(first) + [f for f in truth.index if f not in set(first)]
    return truth.loc[order[: max_spectra or len(order)]]


def write_spectrum_figures(
    binned,
    predictions: pd.DataFrame,
    labels: pd.DataFrame,
    lines: pd.DataFrame,
    nuclides: list[str],
    *,
    max_spectra: int | None,
    out_dir: str | os.PathLike[str],
) -> list[str]:
    """Write ``<stem>.pdf`` and ``<stem>.png`` of each spectrum of :func:`spectra_to_draw` into ``out_dir`` (the
    rebinned test spectra, their predictions and labels); return the stems in drawing order."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    predictions = predictions.set_index("file", drop=False)
    index = {name: k for k, name in enumerate(binned.files)}
    stems = []
    for name, truth in progress(spectra_to_draw(labels, nuclides, max_spectra).items(), "spectrum figures"):
        fig = spectrum_figure(binned.rates[index[name]], predictions.loc[name], lines, nuclides, truth)
        stem = Path(name).stem
        save_figure(fig, out / f"{stem}.pdf", out / f"{stem}.png")
        stems.append(stem)
    return stems


def multilabel_roc_figure(probabilities: pd.DataFrame, labels: pd.DataFrame, nuclides: list[str]):
    """:func:`roc_figure` of a long probability table (file, method, p_<nuclide>) against the test labels."""
    labels = labels.set_index("file")
    return roc_figure(
        labels[nuclides].to_numpy(), probabilities_by_method(probabilities, labels.index, nuclides), nuclides
    )


def detection_figure(curve: pd.DataFrame):
    """Detection probability (solid) and exact identification (dashed) against the expected source counts of the
    test spectra (:func:`combine.detection_curves`: one colour per method), with binomial standard errors; each
    method's false alarm rate on the spectra without a source in the legend."""
    fig, ax = figure("single", 0.75)
    for colour, (method, part) in zip(OKABE_ITO, curve.groupby("method", sort=False), strict=False):
        sources = part[part["group"] == "sources"]
        centre = np.sqrt(sources["source_counts_low"] * sources["source_counts_high"])
        background = part[part["group"] == "background"]
        alarms = f", false alarms {float(background['detection_probability'].iloc[0]):.3f}" if len(background) else ""
        for column, sd, style, label in (
            ("detection_probability", "detection_sd", "-", f"{method}: detected{alarms}"),
            ("exact_match", "exact_match_sd", "--", f"{method}: identified exactly"),
        ):
            ax.errorbar(
                centre,
                sources[column],
                yerr=sources[sd],
                marker="o",
                ms=2.5,
                lw=0.8,
                ls=style,
                capsize=2,
                label=label,
                color=colour,
            )
    ax.set(
        xscale="log",
        ylim=(-0.02, 1.02),
        xlabel="Expected source counts in the spectrum",
        ylabel="Fraction of test spectra",
    )
    ax.legend(loc="upper left", fontsize=5)
    return fig
