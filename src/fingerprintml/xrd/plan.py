"""What the Snakefile needs to plan the xrd study: each dataset's source, its CIFs and shards, job memory.

Standard library only: the rule file imports this module, so planning never loads scipy, torch or pymatgen.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from fingerprintml.config_errors import config_problem
from fingerprintml.datasets import USER
from fingerprintml.shards import shard_names, shard_slice

# A dataset's CIFs come from the library the project builds (``demo_library``), from a list of COD URLs declared
# in resources/remote_files.yaml (``cod_list``), from CIFs declared there (``cifs``: every key under a folder, with
# the demo library as ``decoys`` if the block says so), or, for the dataset ``user``, from the folder ``xrd.cif_dir``.
SOURCES = ("demo_library", "cod_list", "cifs")
# The widest top-k accuracy the evaluation reports (fingerprintml.xrd.evaluate.accuracy_rows: top-1 and top-5).
REPORTED_TOP_K = 5
# Every job that holds the training set asks for this much on top of it (python, torch, the caches).
BASE_MEMORY_MB = 4000


def source_kind(name: str, block: Mapping[str, Any]) -> str:
    """``user``, ``demo_library`` or ``cod_list``: where the CIFs of the dataset ``name`` come from.

    Parameters
    ----------
    name
        The dataset's name (``user`` is the user's ``xrd.cif_dir``).
    block
        Its settings block (``xrd.datasets.<name>``).
    """
    given = [key for key in SOURCES if key in block]
    if name == USER:
        if given:
            raise ValueError(f"config.yaml: xrd.datasets.user takes its CIFs from xrd.cif_dir, not from {given[0]}")
        return USER
    if len(given) != 1:
        raise ValueError(f"config.yaml: xrd.datasets.{name} needs exactly one of {', '.join(SOURCES)}")
    return given[0]


def built_datasets(requested: Sequence[str], cif_dir: str | None) -> list[str]:
    """The datasets the study's target builds: those requested (``xrd.dataset``) and ``user`` whenever the user's
    CIF folder ``xrd.cif_dir`` is set."""
    names = list(requested)
    return [*names, USER] if cif_dir and USER not in names else names


def demo_library(block: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The demo library settings of a dataset: its ``demo_library``, or the ``decoys`` added to declared CIFs."""
    return block.get("demo_library") or block.get("decoys")


def demo_shards(block: Mapping[str, Any]) -> int | None:
    """Conversion shards of a dataset's demo library (None for datasets without one)."""
    return (demo_library(block) or {}).get("shards")


def registry_keys(folder: str, keys: Iterable[str]) -> list[str]:
    """The keys of the remote-file registry under ``folder`` (a key prefix such as ``xrd/dara/cifs/``), sorted; an
    error if there is none.

    Parameters
    ----------
    folder
        The key prefix named in a dataset block.
    keys
        The registry's keys (resources/remote_files.yaml).
    """
    prefix = folder.rstrip("/") + "/"
    found = sorted(key for key in keys if key.startswith(prefix))
    if not found:
        raise ValueError(f"config.yaml: no file of resources/remote_files.yaml is declared under {prefix!r}")
    return found


def shard_source(name: str, block: Mapping[str, Any], shard: str) -> tuple[str, str]:
    """What a conversion shard converts: the source kind :func:`fingerprintml.xrd.store.shard_cifs` reads (``user``
    for a list of CIF paths) and the shard's name within that source. A ``cifs`` dataset's shard ``00000`` is its
    declared CIFs, its later shards those of the decoy demo library, counted from ``00000`` there."""
    source = source_kind(name, block)
    if source != "cifs":
        return source, shard
    if int(shard) == 0:
        return USER, shard
    return "demo_library", shard_names(int(shard), 1)[-1]


def conversion_shards(
    name: str, block: Mapping[str, Any], shard_size: int, *, cod_urls: Callable[[], str], cif_dir: str | None
) -> list[str]:
    """The conversion shards of a dataset: a fixed number for a demo library, from the COD URL list (the path
    ``cod_urls()`` returns, called only for a COD dataset: a checkpoint's output) or from the listing of the user's
    ``cif_dir``, ``shard_size`` CIFs each.

    Parameters
    ----------
    name, block
        The dataset and its settings block.
    shard_size
        CIFs per shard of a COD list or of the user's folder.
    cod_urls
        Returns the path of the dataset's list of COD URLs.
    cif_dir
        The user's CIF folder (``xrd.cif_dir``).
    """
    source = source_kind(name, block)
    if source == "demo_library":
        return shard_names(demo_shards(block), 1)
    if source == "cifs":
        return shard_names(1 + (demo_shards(block) or 0), 1)
    if source == "cod_list":
        return shard_names(count_urls(cod_urls()), shard_size)
    return shard_names(len(list_cifs(cif_dir)), shard_size)


def conversion_input(
    name: str,
    block: Mapping[str, Any],
    shard: str,
    shard_size: int,
    *,
    results: str,
    cif_dir: str | None,
    declared: Callable[[str], list[str]] | None = None,
) -> dict[str, str | list[str]]:
    """The ``cifs`` input of a conversion shard: the demo library's folder, the shard's fetch table of a COD
    dataset, the declared CIFs (or the decoy library's folder, :func:`shard_source`) of a ``cifs`` dataset, or the
    shard's CIFs of the user's folder (so a changed CIF reruns only its shard).

    Parameters
    ----------
    name, block
        The dataset and its settings block.
    shard
        The shard's name.
    shard_size
        CIFs per shard of a COD list or of the user's folder.
    results
        The dataset's results folder.
    cif_dir
        The user's CIF folder (``xrd.cif_dir``).
    declared
        The local paths of the registry's files under a key folder (the workflow's downloads), for ``cifs``.
    """
    source, _ = shard_source(name, block, shard)
    if source == "demo_library":
        return {"cifs": f"{results}/cifs"}
    if source == USER and name != USER:
        return {"cifs": declared(block["cifs"])}
    if source == "cod_list":
        return {"cifs": f"{results}/cod/fetch/{shard}.csv"}
    cifs = list_cifs(cif_dir)
    return {"cifs": cifs[shard_slice(shard, len(cifs), shard_size)]}


def query_dir(value: str | None) -> str:
    """The user's pattern folder ``xrd.query_dir``; an error if it is not set."""
    if not value:
        raise ValueError("config.yaml: xrd.query_dir is not set")
    return value


def grid_points(start: float, stop: float, step: float) -> int:
    """Points of the two-theta grid from ``start`` to ``stop`` (inclusive) in steps of ``step`` degrees."""
    return round((stop - start) / step) + 1


def training_set_mb(grid: Mapping[str, float], training: Mapping[str, Any], n_phases: int) -> float:
    """Megabytes of a dataset's augmented patterns held in memory at once (float32 training and validation copies).

    Parameters
    ----------
    grid
        The dataset's grid block (start, stop, step).
    training
        Its training block (copies and validation_copies per phase).
    n_phases
        Phases in the library.
    """
    points = grid_points(grid["start"], grid["stop"], grid["step"])
    copies = training["copies"] + training["validation_copies"]
    return n_phases * copies * points * 4 / 1e6


def job_memory_mb(block: Mapping[str, Any], phases: str | os.PathLike[str], factor: float) -> int:
    """``mem_mb`` of a job that holds the augmented training set of the dataset with settings ``block`` ``factor``
    times, for the library table ``phases``: from the settings, not from input sizes (which Snakemake reads through a
    coroutine it never awaits while it makes a report)."""
    return int(BASE_MEMORY_MB + factor * training_set_mb(block["grid"], block["training"], count_rows(phases)))


def count_rows(table: str | os.PathLike[str]) -> int:
    """Rows of a CSV table with a header line (phases of a library table)."""
    with open(table) as fh:
        return max(0, sum(1 for line in fh if line.strip()) - 1)


def list_cifs(folder: str | os.PathLike[str]) -> list[str]:
    """The .cif files of a user folder, sorted (shards follow this order); an error names a bad folder."""
    if folder is None:
        raise ValueError("config.yaml: the dataset 'user' is the CIF folder xrd.cif_dir, which is not set")
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"config.yaml: xrd.cif_dir {folder} is not a directory")
    cifs = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() == ".cif")
    if not cifs:
        raise ValueError(f"config.yaml: xrd.cif_dir {folder} holds no .cif file")
    return cifs


def check_user_library(cif_dir: str | None, identify: Mapping[str, Any]) -> None:
    """Stop at planning when the user's CIF folder is too small for the study: the demo queries draw
    ``xrd.identify.simulated_queries`` distinct phases, and with :data:`REPORTED_TOP_K` phases or fewer every top-5
    answer is right by construction. (CIFs that do not parse can still leave fewer phases; the library step says so.)

    Parameters
    ----------
    cif_dir
        ``xrd.cif_dir``; nothing to check when it is not set.
    identify
        The ``xrd.identify`` settings.
    """
    if not cif_dir:
        return
    n_cifs = len(list_cifs(cif_dir))
    needed = max(identify["simulated_queries"], REPORTED_TOP_K + 1)
    if n_cifs < needed:
        raise ValueError(
            config_problem(
                "xrd.cif_dir",
                cif_dir,
                f"{n_cifs} CIF files, fewer than the {needed} phases the study needs: "
                f"xrd.identify.simulated_queries = {identify['simulated_queries']} distinct phases for the demo "
                f"queries, and more than {REPORTED_TOP_K} for a top-{REPORTED_TOP_K} accuracy that can be wrong; "
                "add CIFs" + (" (or lower xrd.identify.simulated_queries)" if n_cifs > REPORTED_TOP_K else ""),
            )
        )


def count_urls(path: str | os.PathLike[str]) -> int:
    """Number of URLs in a list written by the COD list step (one per line)."""
    return sum(1 for line in Path(path).read_text().splitlines() if line.strip())
