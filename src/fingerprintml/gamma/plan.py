"""What the gamma rules plan with: each dataset's outputs, the source of its spectra, its archive's registry key,
the models' settings. Standard library only: the Snakefile imports it while planning."""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from fnmatch import fnmatchcase
from typing import Any

from fingerprintml.config_errors import config_problem
from fingerprintml.datasets import dataset_settings, require_declared
from fingerprintml.gamma.presets import AUTO, resolve_detector

STAGES = ("binary", "multilabel")
LAYOUT_HINT = (
    "a gamma dataset archive holds srcs/ (training sources), bkgs/ (background) and test/ folders of .sps files, "
    "at its top or under one top folder; labels come from nuclide names in the file names (e.g. Cs137_10cm.sps)"
)


def check_predict_methods(gamma: Mapping[str, Any]) -> None:
    """The models named in ``gamma.predict`` must be among the trained ones."""
    for stage in STAGES:
        if gamma["predict"][f"{stage}_method"] not in gamma[stage]["methods"]:
            raise ValueError(f"config.yaml: gamma.predict.{stage}_method must be one of gamma.{stage}.methods")


def check_feature_slices(gamma: Mapping[str, Any]) -> None:
    """The spectra (1 keV bins up to ``gamma.preprocess.cap_kev``) must divide into whole feature slices of each
    stage (``gamma.features.<stage>.slice_kev``); a cap that does not is an error naming the nearest ones that do."""
    cap_kev = gamma["preprocess"]["cap_kev"]
    widths = {stage: gamma["features"][stage]["slice_kev"] for stage in STAGES}
    step = math.lcm(*widths.values())
    if cap_kev % step:
        lower, upper = cap_kev - cap_kev % step, cap_kev - cap_kev % step + step
        slices = ", ".join(f"gamma.features.{stage}.slice_kev = {width}" for stage, width in widths.items())
        raise ValueError(
            config_problem(
                "gamma.preprocess.cap_kev",
                cap_kev,
                f"not a multiple of the feature slice widths ({slices}): the spectra must divide into whole "
                f"slices; take a multiple of {step}, e.g. {', '.join(str(c) for c in (lower, upper) if c >= step)}",
            )
        )


def is_simulated(gamma: Mapping[str, Any], dataset: str) -> bool:
    """Whether ``dataset``'s spectra come from the simulator (its truth is then known) rather than an archive."""
    return "simulator" in dataset_settings(gamma, "gamma", dataset)


def is_measured(gamma: Mapping[str, Any], dataset: str) -> bool:
    """Whether ``dataset`` is a set of measured spectra with known sources (``measured``: identified by peaks and
    benchmarked, no models trained)."""
    return "measured" in dataset_settings(gamma, "gamma", dataset)


def has_validation(gamma: Mapping[str, Any], dataset: str) -> bool:
    """Whether ``dataset`` is simulated with validation spectra (``simulator.repeats.validation``): the peak-based
    identification of its test spectra is then combined with the models (fitted on the validation spectra)."""
    block = dataset_settings(gamma, "gamma", dataset)
    return "validation" in block.get("simulator", {}).get("repeats", {})


def combination_inputs(gamma: Mapping[str, Any], dataset: str) -> dict[str, str]:
    """What the classification of ``dataset``'s test spectra combines with the models: the peak identification of
    the test spectra and the fitted combination, where the dataset has validation spectra (else nothing)."""
    if not has_validation(gamma, dataset):
        return {}
    base = f"results/gamma/{dataset}"
    return {
        "identification": f"{base}/identification/test.csv",
        "limits": f"{base}/identification/test_limits.csv",
        "combiner": f"{base}/models/combination.joblib",
    }


def measured_keys(gamma: Mapping[str, Any], dataset: str, declared: Collection[str]) -> list[str]:
    """The registry keys of measured ``dataset``'s files: its ``measured.spectra`` entries, each a key or a pattern
    (``gamma/opengamma/*``) of keys; an entry that matches no declared key is an error naming it."""
    block = dataset_settings(gamma, "gamma", dataset)
    if "measured" not in block:
        raise ValueError(f"gamma dataset {dataset!r} is not a measured dataset (no measured block)")
    keys = []
    for entry in block["measured"]["spectra"]:
        matched = sorted(k for k in declared if fnmatchcase(k, entry))
        if not matched:
            require_declared(entry, declared, f"gamma dataset {dataset!r}: its measured.spectra entry")
        keys += [k for k in matched if k not in keys]
    return keys


def target_paths(gamma: Mapping[str, Any], dataset: str) -> list[str]:
    """What the gamma target builds for ``dataset``: for a measured dataset, its identification and benchmark
    tables; otherwise tables, figures, the activity check where the dataset is simulated; provenance; the
    classification of ``gamma.query_dir`` where that is set (a measured dataset: its peak-based identification)."""
    user_identification = [
        "user/identification.csv",
        "user/peaks.csv",
        "user/nuclide_limits.csv",
        "user/activities.csv",
    ]
    if is_measured(gamma, dataset):
        names = ["identification.csv", "peaks.csv", "nuclide_limits.csv", "activities.csv", "benchmark.csv"]
        names += ["benchmark_summary.csv"]
        names += ["provenance.yaml", *(user_identification if gamma["query_dir"] else [])]
        return [f"results/gamma/{dataset}/{name}" for name in names]
    names = [
        "binary_metrics.csv",
        "binary_confusion.csv",
        "multilabel_metrics.csv",
        "per_nuclide_metrics.csv",
        "rejects.csv",
        "test_predictions.csv",
        "provenance.yaml",
        "figures/spectra",
        *[f"figures/{f}.{ext}" for f in ("confusion_matrices", "roc") for ext in ("pdf", "png")],
    ]
    if is_simulated(gamma, dataset):
        names += ["activity_comparison.csv", "activity_metrics.csv", "detection_curve.csv"]
        names += [f"figures/detection.{ext}" for ext in ("pdf", "png")]
    if has_validation(gamma, dataset):
        names += ["method_metrics.csv", "method_per_nuclide_metrics.csv"]
    if gamma["query_dir"]:
        names += ["user/predictions.csv", "user/predictions_lines.csv", "user/rejects.csv"]
        names += user_identification
    return [f"results/gamma/{dataset}/{name}" for name in names]


def spectra_folder(gamma: Mapping[str, Any], dataset: str) -> str:
    """The folder of ``dataset``'s spectra (``srcs/``, ``bkgs/``, ``test/``): simulated, or extracted from its
    archive."""
    kind = "simulated" if is_simulated(gamma, dataset) else "spectra"
    return f"results/gamma/{dataset}/{kind}"


def archive_key(gamma: Mapping[str, Any], dataset: str, declared: Collection[str]) -> str:
    """The registry key of ``dataset``'s archive; one not among the ``declared`` keys is an error saying how to
    declare it."""
    block = dataset_settings(gamma, "gamma", dataset)
    if "archive" not in block:
        raise ValueError(f"gamma dataset {dataset!r} has no archive (its spectra are simulated or measured)")
    return require_declared(
        block["archive"],
        declared,
        f"gamma dataset {dataset!r}: its archive",
        hint="The XGD spectra package is not public: get it from its author. ",
        note=f"({LAYOUT_HINT})",
    )


def query_dir(gamma: Mapping[str, Any]) -> str:
    """The folder of the user's spectra, ``gamma.query_dir``."""
    if not gamma["query_dir"]:
        raise ValueError("gamma.query_dir is not set: name the folder of your spectra to classify")
    return gamma["query_dir"]


def training_settings(gamma: Mapping[str, Any], stage: str) -> dict[str, Any]:
    """The settings of the models of ``stage`` (the fields of ``fingerprintml.gamma.pipeline.TrainingSettings``,
    threads aside): only the config they use, so that other changes do not retrain them."""
    methods = gamma[stage]["methods"]
    settings = {
        "methods": methods,
        "models": {m: gamma["models"][m] for m in methods},
        "scaling": gamma["features"][stage]["scaling"],
        "seed": gamma["seed"],
    }
    if stage == "binary":
        sigma = gamma["binary"]["sigma"]
        return {**settings, "k_total": sigma["k_total"], "k_window": sigma["k_window"]}
    return {**settings, "calibration_fraction": gamma["multilabel"]["calibration_fraction"]}


def detector_block(gamma: Mapping[str, Any]) -> dict[str, Any]:
    """The complete block of the training and simulation detector ``gamma.detector`` (a preset or a block)."""
    return resolve_detector(gamma["detector"], "gamma.detector")


def query_detector(gamma: Mapping[str, Any]) -> dict[str, Any] | str:
    """The detector of the spectra of ``gamma.query_dir``: the block of ``gamma.query_detector``, or 'auto' (the
    default: fitted to each spectrum's own peaks)."""
    value = gamma.get("query_detector", AUTO)
    return AUTO if value == AUTO else resolve_detector(value, "gamma.query_detector")


def classify_settings(gamma: Mapping[str, Any], query: bool = False, dataset: str | None = None) -> dict[str, Any]:
    """The fields of ``fingerprintml.gamma.pipeline.ClassifySettings`` from the config: the test spectra are fitted
    with ``gamma.detector``, the user's spectra (``query``) with ``gamma.query_detector``; the answer reported is
    ``gamma.predict.method``'s for the test spectra of a ``dataset`` with validation spectra, the models' ('ml')
    otherwise."""
    activity = gamma["activity"]
    return {
        "nuclides": gamma["nuclides"],
        "threshold": gamma["multilabel"]["threshold"],
        "detector": detector_block(gamma),
        "query_detector": query_detector(gamma) if query else None,
        "calibration": gamma["preprocess"]["default_calibration"],
        "half_width_fwhm": activity["half_width_fwhm"],
        "background_degree": activity["background_degree"],
        "reference_date": activity["reference_date"],
        "measurement_date": activity["measurement_date"],
        "method": gamma["predict"]["method"] if dataset and not query and has_validation(gamma, dataset) else "ml",
    }
