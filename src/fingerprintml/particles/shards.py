"""What the workflow plans the particles study with, standard library only: image listings, their inference shards,
a dataset's source and its metadata source.

Shard names and rows follow :mod:`fingerprintml.shards` (``00000``, five digits).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Container, Mapping
from pathlib import Path
from typing import Any

from fingerprintml.config_errors import config_problem
from fingerprintml.datasets import USER, require_declared
from fingerprintml.particles.schema import IMAGE_SUFFIXES
from fingerprintml.shards import shard_slice

log = logging.getLogger(__name__)

# Where a dataset's metadata columns come from, for training and inference alike: FlowCam's table, the pixels
# (fingerprintml.particles.shape), or nowhere (image only).
METADATA_SOURCES = ("table", "pixels", "none")


def visible_files(root: str | os.PathLike[str]) -> list[Path]:
    """Every file under ``root`` (any depth), hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``)
    aside, sorted; a missing folder is an error naming it."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: folder of images not found")
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        found.extend(Path(folder, name) for name in names if not name.startswith("."))
    return sorted(found)


def image_files(root: str | os.PathLike[str]) -> list[Path]:
    """Every image file under ``root`` (:func:`visible_files` with a suffix of :data:`IMAGE_SUFFIXES`, any case).

    Parameters
    ----------
    root
        The folder to list; a missing folder is an error naming it.
    """
    return [path for path in visible_files(root) if path.suffix.lower() in IMAGE_SUFFIXES]


def count_listed(listing: str | os.PathLike[str]) -> int:
    """Images in a listing table (header + one line per image); a path with a line break only adds an empty shard."""
    with open(listing, "rb") as lines:
        return sum(1 for _ in lines) - 1


def shard_rows(listing, shard: str, per_shard: int):
    """The rows of the image listing (a table) that belong to ``shard``."""
    return listing.iloc[shard_slice(shard, len(listing), per_shard)]


def source_inputs(block: Mapping[str, Any], dataset: str, declared: Container[str]) -> dict[str, str]:
    """The inputs of a dataset's ``particles_dataset`` job: ``classes`` (the demo generator's class table),
    ``archive`` (the registry key of its archive) or ``tree`` (the registry key of a file tree of class folders),
    the keys to be fetched by the download rule; none for ``user`` (``particles.train_dir``, listed by the rule).

    A key that ``declared`` (the registry) lacks is an error saying how to declare it.
    """
    if dataset == USER:
        return {}
    given = [key for key in ("generator", "archive", "tree") if key in block]
    if len(given) != 1:
        raise ValueError(
            f"config.yaml: particles.datasets.{dataset} needs exactly one source (generator, archive or tree); "
            f"it has {given or 'none'}"
        )
    if "generator" in block:
        return {"classes": block["generator"]["classes"]}
    if "tree" in block:
        return {"tree": require_declared(block["tree"], declared, f"particles dataset {dataset!r}: its file tree")}
    key = require_declared(
        block["archive"],
        declared,
        f"particles dataset {dataset!r}: its archive",
        hint="The sha256 of the ICELEARNING archive is not known offline, so its entry is commented out there: "
        "download https://zenodo.org/records/7591282/files/datasets.zip once, put its sha256 (sha256sum) in the entry "
        "and uncomment it. For an archive of your own: ",
    )
    return {"archive": key}


def built_datasets(requested: list[str], train_dir: str | None) -> list[str]:
    """The datasets the particles target builds: those requested (``particles.dataset``) and ``user`` whenever your
    labelled images ``particles.train_dir`` are given; ``user`` requested without them is an error."""
    if USER in requested and not train_dir:
        raise ValueError(config_problem("particles.dataset", USER, "the dataset user needs particles.train_dir"))
    return [*requested, USER] if train_dir and USER not in requested else list(requested)


def is_folder_dataset(block: Mapping[str, Any], dataset: str) -> bool:
    """Whether the dataset is class folders (``user``, or a file tree ``tree``): read where they are, with no
    unlabelled images of their own."""
    return dataset == USER or "tree" in block


def classified_images(block: Mapping[str, Any], dataset: str, *, images: str | None, run: str) -> str | None:
    """What the particles target classifies with the dataset's ``run`` model (``particles.inference.model``): your
    ``images`` (``user``, when ``inference.images`` is set), the dataset's own unlabelled images (``inference``), or
    nothing (None: a class-folder dataset has none; a model trained on a metadata table cannot classify images
    without that table, so its dataset's own images are left out, with a warning).

    Your images given for a table-trained model are an error naming the dataset and the way out (``image_only``).
    """
    table_model = block["metadata"] == "table" and run == "full"
    if images:
        if table_model:
            raise ValueError(
                config_problem(
                    "particles.inference.images",
                    images,
                    f"the full model of dataset {dataset!r} is trained on its metadata table, which your images do "
                    "not have; set particles.inference.model: image_only to classify them with its image-only model",
                )
            )
        return "user"
    if is_folder_dataset(block, dataset):
        return None
    if table_model:
        log.warning(
            "particles dataset %r: its full model is trained on the metadata table, which its unlabelled images do not "
            "have, so they are not classified; set particles.inference.model: image_only to classify them",
            dataset,
        )
        return None
    return "inference"


def metadata_source(block: Mapping[str, Any], dataset: str) -> str:
    """The dataset's metadata source (``metadata``: one of :data:`METADATA_SOURCES`), checked against its source: an
    archive's class tables are FlowCam's (``table``), the generator computes its columns from the pixels
    (``pixels``), and ``table`` needs a table (``table`` of a file tree, ``particles.train_metadata`` for ``user``)."""
    source = block["metadata"]
    key = f"particles.datasets.{dataset}.metadata"
    fixed = "table" if "archive" in block else "pixels" if "generator" in block else None
    if fixed and source != fixed:
        raise ValueError(config_problem(key, source, f"this dataset's metadata are its {fixed} (set {fixed})"))
    return source


def folder_source(
    block: Mapping[str, Any], dataset: str, tree: str | None, train_dir: str | None, train_metadata: str | None
) -> dict[str, str | None]:
    """Where a class-folder dataset's images and metadata table are: for ``user``, ``particles.train_dir`` and
    ``particles.train_metadata``; for a file tree, ``images`` and ``table`` of its block below the folder of
    ``tree`` (the path of its downloaded manifest). ``metadata: table`` without a table is an error naming the key.
    """
    if dataset == USER:
        folder, table, owner = train_dir, train_metadata, "particles.train_metadata"
    else:
        root = Path(tree).parent
        folder = str(root / block["images"])
        table = str(root / block["table"]) if block.get("table") else None
        owner = f"particles.datasets.{dataset}.table"
    needs = block["metadata"] == "table" or "column" in (block.get("session") or {})
    if needs and table is None:
        raise ValueError(
            config_problem(owner, None, "metadata: table or a session column needs the metadata table (CSV)")
        )
    return {"folder": folder, "table": table}
