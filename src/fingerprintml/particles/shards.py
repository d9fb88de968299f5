"""What the workflow plans the particles study with, standard library only: image listings, their inference shards,
and a dataset's source.

Shard names and rows follow :mod:`fingerprintml.shards` (``00000``, five digits).
"""

from __future__ import annotations

import os
from collections.abc import Container, Mapping
from pathlib import Path
from typing import Any

from fingerprintml.datasets import require_declared
from fingerprintml.particles.schema import IMAGE_SUFFIXES
from fingerprintml.shards import shard_slice


def image_files(root: str | os.PathLike[str]) -> list[Path]:
    """Every image file under ``root`` (any depth; suffixes of :data:`IMAGE_SUFFIXES`, any case), sorted.

    Parameters
    ----------
    root
        The folder to list; a missing folder is an error naming it.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: folder of images not found")
    found = []
    for folder, _, names in os.walk(root):
        found.extend(Path(folder, name) for name in names if Path(name).suffix.lower() in IMAGE_SUFFIXES)
    return sorted(found)


def count_listed(listing: str | os.PathLike[str]) -> int:
    """Images in a listing table (header + one line per image); a path with a line break only adds an empty shard."""
    with open(listing, "rb") as lines:
        return sum(1 for _ in lines) - 1


def shard_rows(listing, shard: str, per_shard: int):
    """The rows of the image listing (a table) that belong to ``shard``."""
    return listing.iloc[shard_slice(shard, len(listing), per_shard)]


def source_inputs(block: Mapping[str, Any], dataset: str, declared: Container[str]) -> dict[str, str]:
    """The inputs of a dataset's ``particles_dataset`` job: ``classes`` (the demo generator's class table) or
    ``archive`` (the registry key of its archive, to be fetched by the download rule).

    An archive key that ``declared`` (the registry) lacks is an error saying how to declare it.
    """
    if "generator" in block:
        return {"classes": block["generator"]["classes"]}
    key = require_declared(
        block["archive"],
        declared,
        f"particles dataset {dataset!r}: its archive",
        hint="The sha256 of the ICELEARNING archive is not known offline, so its entry is commented out there: "
        "download https://zenodo.org/records/7591282/files/datasets.zip once, put its sha256 (sha256sum) in the entry "
        "and uncomment it. For an archive of your own: ",
    )
    return {"archive": key}
