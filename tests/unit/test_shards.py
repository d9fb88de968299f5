"""Shards: one five-digit name format, and the rows of each shard cover the list once."""

from __future__ import annotations

import pytest

from fingerprintml.shards import shard_names, shard_slice


def test_names_are_five_digits_and_sort_in_shard_order() -> None:
    names = shard_names(250_001, 1000)
    assert len(names) == 251
    assert names[:2] == ["00000", "00001"] and names[-1] == "00250"
    assert sorted(names) == names
    assert shard_names(0, 10) == []
    assert shard_names(10, 10) == ["00000"]
    assert shard_names(11, 10) == ["00000", "00001"]


@pytest.mark.parametrize(("n_items", "per_shard"), [(1, 1), (10, 3), (12, 4), (7, 100)])
def test_the_shards_cover_every_item_once_in_order(n_items: int, per_shard: int) -> None:
    shards = [range(n_items)[shard_slice(name, n_items, per_shard)] for name in shard_names(n_items, per_shard)]
    assert [i for shard in shards for i in shard] == list(range(n_items))
    sizes = [len(shard) for shard in shards]
    assert all(size == per_shard for size in sizes[:-1]) and 1 <= sizes[-1] <= per_shard


def test_a_shard_by_name_or_number() -> None:
    assert shard_slice("00002", 25, 10) == slice(20, 25)
    assert shard_slice(2, 25, 10) == slice(20, 25)


@pytest.mark.parametrize("shard", ["00003", -1])
def test_a_shard_outside_the_list_is_an_error(shard: str | int) -> None:
    with pytest.raises(ValueError, match="outside the 25 items"):
        shard_slice(shard, 25, 10)


def test_a_shard_needs_at_least_one_item() -> None:
    with pytest.raises(ValueError, match="at least one item"):
        shard_names(10, 0)
    with pytest.raises(ValueError, match="at least one item"):
        shard_slice(0, 10, 0)
