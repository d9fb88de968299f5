"""Shards of a long job list (cut-outs, images, CIFs): one name format and one rule for their rows.

No third-party imports: the Snakefile plans shards with this module.
"""

from __future__ import annotations

import math


def shard_names(n_items: int, per_shard: int) -> list[str]:
    """Names of the shards that hold ``n_items`` items, ``per_shard`` each: zero-padded to five digits, sortable.

    Parameters
    ----------
    n_items
        Items to share out (0 gives no shard).
    per_shard
        Items per shard, at least 1.
    """
    if per_shard < 1:
        raise ValueError(f"shards need at least one item each, got {per_shard}")
    return [f"{index:05d}" for index in range(math.ceil(n_items / per_shard))]


def shard_slice(shard: str | int, n_items: int, per_shard: int) -> slice:
    """The items of shard ``shard`` (its name or number); a shard past the end is an error.

    Parameters
    ----------
    shard
        The shard's name (``"00003"``) or number.
    n_items
        Items in the whole list.
    per_shard
        Items per shard.
    """
    if per_shard < 1:
        raise ValueError(f"shards need at least one item each, got {per_shard}")
    index = int(shard)
    start = index * per_shard
    if index < 0 or start >= n_items:
        raise ValueError(f"shard {shard} is outside the {n_items} items ({per_shard} per shard)")
    return slice(start, min(start + per_shard, n_items))
