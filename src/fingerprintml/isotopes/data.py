"""Isotope data sets: the NanoTracer files parsed into one table layout, and the hierarchy of sources.

Table layout (train and external test alike): ``sample, d18O, d56Fe, source, species, route`` where
``source`` is Natural, Incidental or Engineered, ``species`` the iron oxide (Mag = magnetite,
Mgh = maghemite) and ``route`` the synthesis route label of the original (EA, EP, ES); the two
lower levels are empty strings for natural and incidental particles. The external table adds
``subset`` (``Troll`` for the rows also published by Troll et al., ``other`` for the rest).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = "MgP"
FEATURES = ["d18O", "d56Fe"]
FEATURE_LABELS = {"d18O": "δ$^{18}$O (‰, V-SMOW)", "d56Fe": "δ$^{56}$Fe (‰, IRMM-014)"}
LEVELS = ["source", "species", "route"]
LEAVES = [
    ("Natural", "", ""),
    ("Incidental", "", ""),
    ("Engineered", "Mag", "EA"),
    ("Engineered", "Mag", "EP"),
    ("Engineered", "Mag", "ES"),
    ("Engineered", "Mgh", "EP"),
    ("Engineered", "Mgh", "ES"),
]


class DataFormatError(ValueError):
    """An input file does not have the expected layout; the message names the file and line."""


def _lines(path: str | os.PathLike[str]) -> list[str]:
    text = Path(path).read_text()
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return lines


def read_features(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a two-column (delta18O, delta56Fe) tab-separated file with CRLF or LF line ends."""
    rows = []
    for lineno, line in enumerate(_lines(path), start=1):
        fields = line.split()
        if len(fields) != 2:
            raise DataFormatError(f"{path}, line {lineno}: expected 2 numbers, found {len(fields)} fields: {line!r}")
        try:
            values = [float(fields[0]), float(fields[1])]
        except ValueError as error:
            raise DataFormatError(f"{path}, line {lineno}: not a number: {line!r}") from error
        if not np.isfinite(values).all():
            raise DataFormatError(f"{path}, line {lineno}: not a finite number: {line!r}")
        rows.append(values)
    if not rows:
        raise DataFormatError(f"{path}: no data rows")
    return np.asarray(rows)


def parse_label_path(line: str, path: str | os.PathLike[str], lineno: int) -> tuple[str, str, str]:
    """Parse ``MgP,MgP.Engineered,MgP.Engineered.Mag,MgP.Engineered.Mag.EP`` (padded with empty fields)."""
    nodes = [node.strip() for node in line.split(",")]
    names = [node.rsplit(".", 1)[-1] for node in nodes if node]
    if not names or names[0] != ROOT:
        raise DataFormatError(f"{path}, line {lineno}: label path must start at {ROOT}: {line!r}")
    for depth in range(1, len(names)):
        if nodes[depth] != ".".join(names[: depth + 1]):
            raise DataFormatError(f"{path}, line {lineno}: node {nodes[depth]!r} is not a child of its parent")
    leaf = tuple(names[1:]) + ("",) * (len(LEVELS) + 1 - len(names))
    if leaf not in LEAVES:
        raise DataFormatError(f"{path}, line {lineno}: {line!r} is not a path of the NanoTracer hierarchy")
    return leaf  # type: ignore[return-value]


def read_labels(path: str | os.PathLike[str]) -> list[tuple[str, str, str]]:
    """Read a hierarchical label file (one comma-separated path per line)."""
    return [parse_label_path(line, path, lineno) for lineno, line in enumerate(_lines(path), start=1)]


def _table(features: np.ndarray, labels: list[tuple[str, str, str]], prefix: str) -> pd.DataFrame:
    df = pd.DataFrame(features, columns=FEATURES)
    df.insert(0, "sample", [f"{prefix}{i + 1:03d}" for i in range(len(df))])
    for level, values in zip(LEVELS, zip(*labels, strict=True), strict=True):
        df[level] = list(values)
    return df


def read_paper_dataset(
    x_train: str, y_train: str, x_test: str, y_test: str, x_test_troll: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse the NanoTracer files into the training table and the external test table."""
    train_x, train_y = read_features(x_train), read_labels(y_train)
    if len(train_x) != len(train_y):
        raise DataFormatError(f"{x_train} has {len(train_x)} rows but {y_train} has {len(train_y)} labels")
    test_x, test_y = read_features(x_test), read_labels(y_test)
    if len(test_x) != len(test_y):
        raise DataFormatError(f"{x_test} has {len(test_x)} rows but {y_test} has {len(test_y)} labels")
    troll = read_features(x_test_troll)
    if len(troll) > len(test_x) or not np.array_equal(troll, test_x[: len(troll)]):
        raise DataFormatError(f"{x_test_troll} is expected to repeat the first rows of {x_test}")
    test = _table(test_x, test_y, "ext")
    test["subset"] = ["Troll" if i < len(troll) else "other" for i in range(len(test))]
    return _table(train_x, train_y, "train"), test


PAPER_FILES = ("x_train", "y_train", "x_test", "y_test", "x_test_troll")


def dataset_tables(sources: Mapping[str, str], seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The training and external tables of a dataset from its source files: the NanoTracer files when ``sources``
    names them (keys :data:`PAPER_FILES`), else the demo drawn with ``seed`` from the class table ``classes``."""
    if "classes" in sources:
        from fingerprintml.isotopes.demo import demo_dataset, read_class_table  # demo imports this module

        return demo_dataset(read_class_table(sources["classes"]), seed)
    missing = [key for key in PAPER_FILES if key not in sources]
    if missing:
        raise ValueError(f"an isotopes dataset names either a class table or all of {PAPER_FILES}; missing {missing}")
    return read_paper_dataset(*(sources[key] for key in PAPER_FILES))


def label_paths(df: pd.DataFrame) -> np.ndarray:
    """The (n, 3) array of label paths used to fit hiclass models (empty strings below shallow leaves)."""
    return df[LEVELS].to_numpy(dtype=object).astype(str)


def leaf_names(paths: np.ndarray) -> np.ndarray:
    """``Engineered:Mag:EP``-style names of the leaves of (n, 3) label paths."""
    return np.array([":".join(node for node in row if node) for row in paths])


def load_table(path: str | os.PathLike[str]) -> tuple[np.ndarray, np.ndarray]:
    """Features (n, 2) and label paths (n, 3) of a table written by the dataset rule."""
    df = pd.read_csv(path, keep_default_na=False)
    return df[FEATURES].to_numpy(dtype=float), label_paths(df)
