"""Shared fixtures: the repository, the read-only mirror of remote files and the NanoTracer data parsed once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fingerprintml.isotopes.data import FEATURES, label_paths, read_paper_dataset

REPO = Path(__file__).resolve().parents[2]
NANOTRACER = "xliu-deep/NanoTracer/878dffbd13ecb529a5f971365fce437c1d2994e3/data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def nanotracer_dir(mirror: Path) -> Path:
    return mirror / NANOTRACER


@pytest.fixture(scope="session")
def paper_files(nanotracer_dir: Path) -> dict[str, Path]:
    names = ["X_train.txt", "y_train_hiclass.csv", "X_test.txt", "y_test.csv", "X_test_Troll.txt"]
    keys = ["x_train", "y_train", "x_test", "y_test", "x_test_troll"]
    return {key: nanotracer_dir / name for key, name in zip(keys, names, strict=True)}


@pytest.fixture(scope="session")
def paper_tables(paper_files: dict[str, Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    return read_paper_dataset(**{key: str(path) for key, path in paper_files.items()})


@pytest.fixture(scope="session")
def train_xy(paper_tables: tuple[pd.DataFrame, pd.DataFrame]) -> tuple[np.ndarray, np.ndarray]:
    """Features (113, 2) and label paths (113, 3) of the NanoTracer training set."""
    train, _ = paper_tables
    return train[FEATURES].to_numpy(dtype=float), label_paths(train)
