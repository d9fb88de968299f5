"""Inference shards: their names and rows, from the image listing (no torch, so the workflow can plan with it)."""

from __future__ import annotations

import math
import os

import pandas as pd


def count_listed(listing: str | os.PathLike[str]) -> int:
    """Images in a listing table (header + one line per image); a path with a line break only adds an empty shard."""
    with open(listing, "rb") as lines:
        return sum(1 for _ in lines) - 1


def shard_names(n_images: int, per_shard: int) -> list[str]:
    """Names of the shards of ``n_images`` images, ``per_shard`` each (zero-padded, sortable)."""
    return [f"{index:05d}" for index in range(math.ceil(n_images / per_shard))]


def shard_rows(listing: pd.DataFrame, shard: str, per_shard: int) -> pd.DataFrame:
    """The rows of the image listing that belong to ``shard``."""
    start = int(shard) * per_shard
    return listing.iloc[start : start + per_shard]
