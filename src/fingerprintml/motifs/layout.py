"""Where the motifs workflow's files are, per dataset: which datasets a run builds, each dataset's structure and
PDF (the user's, downloaded or generated), its fit shards and the inputs of each figure.

Standard library and light fingerprintml modules only: the Snakefile plans with it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fingerprintml.datasets import USER, dataset_settings, requested_datasets
from fingerprintml.shards import shard_names

STUDY = "motifs"
# A dataset's folder; every output of the dataset is below it.
RESULTS = "results/motifs/{dataset}"
# A generated dataset's structure and PDF, below its folder.
GENERATED = {"structure": "generated/structure.xyz", "data": "generated/data.gr"}
# Figure -> the files it reads (by input name), below the dataset's folder.
FIGURE_FILES = {
    "shap_summary": {"features": "model/features.csv", "shap": "model/shap.csv"},
    "acv_per_atom": {"atoms": "atoms.csv"},
    "structure_acv": {"atoms": "atoms.csv"},
    "rw_distribution": {"fits": "fits.csv", "result": "motif_fit.json"},
    "motif_fit": {"profile": "motif_fit.csv", "result": "motif_fit.json"},
}


# The user's fits table (``motifs.input.fits``) as the catalogue and fits of the dataset ``user``, below its folder.
IMPORTED = {"catalogue": "imported/catalogue.csv", "fits": "imported/fits.csv"}
# Figures that need the measured PDF (the motif refinement).
REFINEMENT_FIGURES = ("rw_distribution", "motif_fit")


def _given(study_config: Mapping[str, Any], kind: str) -> bool:
    return bool(study_config["input"].get(kind))


def user_input(study_config: Mapping[str, Any]) -> bool:
    """Whether ``motifs.input`` gives the user's data: a structure with a PDF, a fits table (``fits``: cut-out masks
    and their Rw computed elsewhere, which skips the PDF fits), or both; anything else given is an error."""
    structure, data, fits = (_given(study_config, kind) for kind in ("structure", "data", "fits"))
    if not (structure or data or fits):
        return False
    if not structure or not (data or fits):
        raise ValueError(
            "config.yaml: motifs.input needs both structure and data (or neither); "
            "with a fits table (motifs.input.fits), structure and the table"
        )
    return True


def imports_fits(study_config: Mapping[str, Any], dataset: str) -> bool:
    """Whether the dataset's cut-outs and Rw come from the user's fits table instead of the PDF fits."""
    return dataset == USER and _given(study_config, "fits")


def has_data(study_config: Mapping[str, Any], dataset: str) -> bool:
    """Whether the dataset has a measured PDF (the user's data may be a fits table alone): the motif refinement's
    condition."""
    return dataset != USER or _given(study_config, "data")


def catalogue_file(study_config: Mapping[str, Any], dataset: str) -> str:
    """The dataset's cut-out catalogue: the catalogue rule's, or the one imported from the user's fits table."""
    folder = RESULTS.format(dataset=dataset)
    return f"{folder}/{IMPORTED['catalogue']}" if imports_fits(study_config, dataset) else f"{folder}/catalogue.csv"


def fits_file(study_config: Mapping[str, Any], dataset: str) -> str:
    """The dataset's gathered fits: the gather rule's, or the ones imported from the user's fits table."""
    folder = RESULTS.format(dataset=dataset)
    return f"{folder}/{IMPORTED['fits']}" if imports_fits(study_config, dataset) else f"{folder}/fits.csv"


def figures(study_config: Mapping[str, Any], dataset: str) -> list[str]:
    """The dataset's figures: all, less the refinement's where it has no measured PDF."""
    refined = has_data(study_config, dataset)
    return [name for name in FIGURE_FILES if refined or name not in REFINEMENT_FIGURES]


def result_files(study_config: Mapping[str, Any], dataset: str) -> list[str]:
    """What ``snakemake motifs`` builds for the dataset: tables, structures, figures (static and interactive), the
    motif refinement where it has a PDF and the recovery score where it is generated."""
    folder = RESULTS.format(dataset=dataset)
    names = ["atoms.csv", "structure_acv.xyz", "structure_acv.cif", "motif.xyz", "motif.cif", "model_metrics.json"]
    names += ["provenance.yaml", "figures/structure_acv.html"]
    names += [f"figures/{name}.{ext}" for name in figures(study_config, dataset) for ext in ("pdf", "png")]
    if has_data(study_config, dataset):
        names.append("motif_fit.json")
    if is_generated(study_config, dataset):
        names.append("recovery.json")
    return [f"{folder}/{name}" for name in names]


def built_datasets(study_config: Mapping[str, Any]) -> list[str]:
    """The datasets ``snakemake motifs`` builds: ``motifs.dataset``, except that the user's data (``motifs.input``)
    is built instead when given, unless ``motifs.dataset`` names ``user`` itself (then what it names)."""
    names = requested_datasets(study_config, STUDY)
    has_input = user_input(study_config)
    if USER in names and not has_input:
        raise ValueError("config.yaml: motifs.dataset names 'user', but motifs.input gives no structure and data")
    return names if USER in names or not has_input else [USER]


def is_generated(study_config: Mapping[str, Any], dataset: str) -> bool:
    """Whether the dataset is generated with a planted motif (its block has a ``generator``)."""
    return dataset != USER and "generator" in dataset_settings(study_config, STUDY, dataset)


def source(study_config: Mapping[str, Any], dataset: str, kind: str, downloaded: Callable[[str], str]) -> str:
    """The dataset's ``structure`` or ``data`` file: the user's (``motifs.input``), a download (``remote``: keys of
    the registry, located by ``downloaded``) or the generated one."""
    if dataset == USER:
        return study_config["input"][kind]
    block = dataset_settings(study_config, STUDY, dataset)
    if "remote" in block:
        return downloaded(block["remote"][kind])
    return f"{RESULTS.format(dataset=dataset)}/{GENERATED[kind]}"


def shard_files(study_config: Mapping[str, Any], dataset: str, fit_dir: str) -> list[str]:
    """The fitted shards of the dataset's catalogue: ``cutouts`` in shards of ``shard_size``."""
    block = dataset_settings(study_config, STUDY, dataset)
    folder = f"{RESULTS.format(dataset=dataset)}/{fit_dir}"
    return [f"{folder}/shard_{name}.csv" for name in shard_names(block["cutouts"], block["shard_size"])]


def figure_inputs(study_config: Mapping[str, Any], dataset: str, figure: str) -> dict[str, str]:
    """The files the figure reads, by input name (the fits are :func:`fits_file`'s)."""
    folder = RESULTS.format(dataset=dataset)
    files = {key: f"{folder}/{path}" for key, path in FIGURE_FILES[figure].items()}
    if "fits" in files:
        files["fits"] = fits_file(study_config, dataset)
    return files
