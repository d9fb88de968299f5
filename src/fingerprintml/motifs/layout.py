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


def user_input(study_config: Mapping[str, Any]) -> bool:
    """Whether ``motifs.input`` gives the user's structure and PDF; one without the other is an error."""
    given = [study_config["input"][kind] for kind in ("structure", "data")]
    if any(given) and not all(given):
        raise ValueError("config.yaml: motifs.input needs both structure and data (or neither)")
    return all(given)


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


def figure_inputs(dataset: str, figure: str) -> dict[str, str]:
    """The files the figure reads, by input name."""
    folder = RESULTS.format(dataset=dataset)
    return {key: f"{folder}/{path}" for key, path in FIGURE_FILES[figure].items()}
