"""Where a dataset's images come from: drawn by the demo generator, extracted from an archive at the paper's layout,
or class folders (your ``particles.train_dir``, or a declared file tree: :mod:`fingerprintml.particles.folders`).

The paper's archive (Zenodo record 10.5281/zenodo.7591282) holds ``datasets/<class>.csv`` (``imgpaths`` + the 34
FlowCam columns), the images they point to and ``datasets/test/`` (3M+ unlabelled GRIP images); any leading folder
is stripped up to ``datasets/``. Members are streamed one by one into place
(:func:`fingerprintml.archives.extract_archive`), so the disk never holds a second full copy of the data.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path, PurePosixPath

import pandas as pd

from fingerprintml.archives import extract_archive
from fingerprintml.particles.data import list_images, read_class_tables
from fingerprintml.particles.demo import read_class_table, write_demo_dataset
from fingerprintml.particles.folders import UNREADABLE_COLUMNS, FolderSettings, read_class_folders

log = logging.getLogger(__name__)


def paper_member_path(member: PurePosixPath) -> PurePosixPath | None:
    """Path of an archive member below the data root: from ``datasets/`` on, else without its leading folder;
    None (left out) for a file at the archive's top level outside ``datasets/``."""
    parts = member.parts
    if "datasets" in parts:
        return PurePosixPath(*parts[parts.index("datasets") :])
    return PurePosixPath(*parts[1:]) if len(parts) > 1 else None


def make_dataset(
    root: str | os.PathLike[str],
    *,
    seed: int,
    archive: str | os.PathLike[str] | None = None,
    classes: str | os.PathLike[str] | None = None,
    samples: int = 0,
    images_per_sample: int = 0,
    workers: int = 1,
    folder: str | os.PathLike[str] | None = None,
    table: str | os.PathLike[str] | None = None,
    folder_settings: FolderSettings | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Lay the dataset out under ``root`` and return its labelled rows, its unlabelled images and the files not used
    (``path``, ``reason``).

    Exactly one source: ``archive`` (extracted, resumably), ``classes`` (the demo class table: the generator draws
    the labelled images and ``samples`` unlabelled samples of ``images_per_sample`` images, in ``workers`` processes,
    seeded by ``seed``) or ``folder`` (class folders read where they are, with the metadata ``table`` and
    ``folder_settings``; no unlabelled images, nothing written under ``root``).
    """
    if sum(source is not None for source in (archive, classes, folder)) != 1:
        raise ValueError(
            "a particles dataset comes from exactly one source: an archive, a demo class table or a folder"
        )
    if folder is not None:
        labelled, unreadable = read_class_folders(folder, folder_settings, table)
        return labelled, pd.DataFrame(columns=["path", "sample"]), unreadable
    root = Path(root)
    if archive is not None:
        extract_archive(archive, root, paper_member_path)
    else:
        write_demo_dataset(read_class_table(classes), root, seed, images_per_sample, samples, workers)
    labelled = read_class_tables(root)
    unlabelled = list_images(root / "datasets" / "test")
    log.info("labelled images per class:\n%s", labelled["class"].value_counts().to_string())
    log.info("unlabelled images: %d in %d samples", len(unlabelled), unlabelled["sample"].nunique())
    return labelled, unlabelled, pd.DataFrame(columns=UNREADABLE_COLUMNS)
