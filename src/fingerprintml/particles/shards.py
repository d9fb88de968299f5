"""Image listings and their inference shards, with the standard library only: the workflow plans with this module.

Shard names and rows follow :mod:`fingerprintml.shards` (``00000``, five digits).
"""

from __future__ import annotations

import os
from pathlib import Path

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
