"""Atomic writes and tables: every output is written under a temporary name and renamed into place."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

# The process's umask, read once (os.umask can only be read by setting it): outputs get the mode a plain open() gives.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The file gets the mode a plain ``open`` would give it (mkstemp's 0600 would hide results from a group).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.fchmod(fd, 0o666 & ~_UMASK)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_table(df: pd.DataFrame, path: str | os.PathLike[str], float_format: str = "%.6g") -> None:
    """Write a CSV table atomically with a fixed float format, so reruns give identical bytes."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")


def write_arrays(path: str | os.PathLike[str], *, compressed: bool = False, **arrays: np.ndarray) -> None:
    """Write named arrays to an ``.npz`` archive atomically (``compressed``: zip-deflated); at least one array.

    Parameters
    ----------
    path
        The archive to write.
    compressed
        Deflate the members (smaller, slower to read).
    arrays
        The arrays, by name.
    """
    if not arrays:
        raise ValueError(f"{path}: no arrays to write")
    save = np.savez_compressed if compressed else np.savez
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        save(fh, **arrays)


def write_array(path: str | os.PathLike[str], array: np.ndarray) -> None:
    """Write one array to an ``.npy`` file atomically."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, array)


def read_table(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV table written by :func:`write_table`; empty strings stay empty strings."""
    return pd.read_csv(path, keep_default_na=False)


def read_table_with(path: str | os.PathLike[str], columns: list[str]) -> pd.DataFrame:
    """Read a CSV table as :func:`read_table` does and check that it has ``columns``; a missing one is an error naming
    the file and the columns."""
    table = read_table(path)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: missing columns {missing}")
    return table


def write_latex(df: pd.DataFrame, path: str | os.PathLike[str], caption: str, label: str) -> None:
    """Write a booktabs LaTeX table atomically."""
    body = df.to_latex(index=False, float_format="%.3f", escape=True, caption=caption, label=label)
    with atomic_path(path) as tmp:
        tmp.write_text(body)


def write_json(data: Any, path: str | os.PathLike[str]) -> None:
    """Write JSON atomically with sorted keys."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: str | os.PathLike[str]) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text())


def write_yaml(data: Any, path: str | os.PathLike[str]) -> None:
    """Write YAML atomically, keys in insertion order."""
    with atomic_path(path) as tmp:
        tmp.write_text(yaml.safe_dump(data, sort_keys=False))


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Read a YAML file."""
    return yaml.safe_load(Path(path).read_text())
