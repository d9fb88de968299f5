"""Atomic writes and tables: every output is written under a temporary name and renamed into place."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds.

    The file is created as a plain ``open`` creates one: mode 0666 less the umask in force at that moment, so a group
    sharing the folder reads it (mkstemp's 0600 would hide it).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp_path = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        try:
            os.close(os.open(tmp_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
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


# Separators a spreadsheet may have used instead of the comma (a semicolon where the comma is the decimal mark).
OTHER_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}


def missing_columns_problem(path: str | os.PathLike[str], header: list[str], columns: list[str]) -> str | None:
    """What is wrong with a CSV table's ``header`` that lacks some of ``columns``, naming the file (None when nothing
    is missing): a header whose names are joined by another separator is reported as a separator problem.

    Parameters
    ----------
    path
        The table, for the message.
    header
        Its column names as read with commas.
    columns
        The columns it must have.
    """
    missing = [c for c in columns if c not in header]
    if not missing:
        return None
    for separator, name in OTHER_SEPARATORS.items():
        if any(separator in field for field in header) and set(columns) <= {
            part.strip() for field in header for part in field.split(separator)
        }:
            return (
                f"{path}: the columns are separated by {name} ({separator!r}), not by commas: save it as "
                f"comma-separated CSV (header read: {header})"
            )
    return f"{path}: missing columns {missing}; found {header}"


def read_table_with(path: str | os.PathLike[str], columns: list[str]) -> pd.DataFrame:
    """Read a CSV table as :func:`read_table` does and check that it has ``columns``; a missing one is an error naming
    the file and the columns (or the separator the file uses instead of commas)."""
    table = read_table(path)
    problem = missing_columns_problem(path, list(table.columns), columns)
    if problem:
        raise ValueError(problem)
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
