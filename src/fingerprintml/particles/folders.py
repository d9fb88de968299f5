"""Labelled images in class folders: your own (``particles.train_dir``, the dataset ``user``) or a declared file tree
(the dataset ``flowcam``), one code path.

One subfolder per class holds the images (PNG, JPEG, TIFF, BMP; grey or colour; 8 or 16 bit; any depth below it;
hidden files and folders aside). An optional metadata table (CSV) has one row per image, keyed by its file name.
Each dataset takes its metadata from one source, for training and inference alike (:data:`METADATA_SOURCES`), and
each image's acquisition session from a table column, a file-name pattern, or nowhere (the split is then stratified).
An image that cannot be used is a row of the unreadable table (path, reason), never dropped silently.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fingerprintml.download import VERIFIED
from fingerprintml.particles.data import ImageReadError, load_image
from fingerprintml.particles.schema import IMAGE_SUFFIXES, METADATA_COLUMNS
from fingerprintml.particles.shape import MICRONS_PER_PIXEL, flowcam_metadata
from fingerprintml.particles.shards import METADATA_SOURCES, image_files, visible_files

log = logging.getLogger(__name__)

UNREADABLE_COLUMNS = ["path", "reason"]


@dataclass(frozen=True)
class FolderSettings:
    """How a class-folder dataset is read.

    Parameters
    ----------
    metadata
        ``table`` (the metadata table's columns of :data:`METADATA_COLUMNS`), ``pixels``
        (:func:`fingerprintml.particles.shape.flowcam_metadata` of each image) or ``none``.
    key
        The table column holding each image's file name.
    session_column
        The table column naming each image's acquisition session, or None.
    session_pattern
        A regular expression searched in each file name; the session is its first group (else the whole match).
    microns_per_pixel
        Pixel size of the images, for pixel-derived metadata.
    """

    metadata: str
    key: str = "File_name"
    session_column: str | None = None
    session_pattern: str | None = None
    microns_per_pixel: float = MICRONS_PER_PIXEL

    def __post_init__(self) -> None:
        if self.metadata not in METADATA_SOURCES:
            raise ValueError(f"metadata source {self.metadata!r}: one of {', '.join(METADATA_SOURCES)}")
        if self.session_column and self.session_pattern:
            raise ValueError("the session comes from a table column or a file-name pattern, not both")

    @classmethod
    def from_block(cls, block: Mapping[str, Any]) -> FolderSettings:
        """From a dataset block: ``metadata``, ``table_key``, ``session`` (``{column: ...}`` or ``{pattern: ...}``
        or null) and ``microns_per_pixel``."""
        session = block.get("session") or {}
        return cls(
            metadata=block["metadata"],
            key=block.get("table_key", "File_name"),
            session_column=session.get("column"),
            session_pattern=session.get("pattern"),
            microns_per_pixel=float(block.get("microns_per_pixel", MICRONS_PER_PIXEL)),
        )


def _read_table(path: str | os.PathLike[str], settings: FolderSettings) -> pd.DataFrame:
    """The metadata table indexed by file name; a missing key or session column, or a file named twice, is an error
    naming the table."""
    table = pd.read_csv(path)
    for column in (settings.key, settings.session_column):
        if column and column not in table.columns:
            raise ValueError(f"{path}: no column {column!r} (columns: {', '.join(map(str, table.columns[:20]))}, ...)")
    names = table[settings.key].astype(str)
    repeated = names[names.duplicated()].unique()
    if len(repeated):
        raise ValueError(f"{path}: {len(repeated)} file names appear on more than one row, e.g. {repeated[0]!r}")
    return table.set_index(names)


def _session(name: str, row: pd.Series | None, settings: FolderSettings, pattern: re.Pattern[str] | None) -> str:
    if settings.session_column:
        return str(row[settings.session_column])
    if pattern is not None:
        match = pattern.search(name)
        if match is None:
            raise ValueError(f"{name}: file name does not match the session pattern {pattern.pattern!r}")
        return match.group(1) if pattern.groups else match.group(0)
    return ""


def read_class_folders(
    folder: str | os.PathLike[str], settings: FolderSettings, table: str | os.PathLike[str] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The labelled rows of a class-folder tree and the images that cannot be used.

    Parameters
    ----------
    folder
        One subfolder per class (at least two), images below each.
    settings
        Metadata source, table key, session rule and pixel size (:class:`FolderSettings`).
    table
        The metadata CSV keyed by file name; required by ``metadata: table`` and by a session column.

    Returns
    -------
    The labelled table (``path``, ``class``, ``session`` and the metadata columns of the source) and the unreadable
    one (``path``, ``reason``: not decodable, not an image file, no table row, a metadata value that is no number).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: folder of class folders not found")
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise ValueError(
            f"{folder}: {len(classes)} class folder(s) found; training needs one subfolder per class, two at least"
        )
    if table is None and (settings.metadata == "table" or settings.session_column):
        raise ValueError(f"{folder}: metadata 'table' or a session column needs a metadata table (none given)")
    rows_of = _read_table(table, settings) if table is not None else None
    if settings.metadata == "table":
        columns = [c for c in METADATA_COLUMNS if c in rows_of.columns]
        if not columns:
            raise ValueError(f"{table}: none of the metadata columns {METADATA_COLUMNS} is in the table")
        log.info(
            "%s: metadata columns used: %s; absent: %s", table, columns, sorted(set(METADATA_COLUMNS) - set(columns))
        )
    else:
        columns = METADATA_COLUMNS if settings.metadata == "pixels" else []
    pattern = re.compile(settings.session_pattern) if settings.session_pattern else None
    labelled, unreadable = [], []
    for name in classes:
        # The download layer's verification records (<file>.verified) sit beside the files of a downloaded tree.
        others = [p for p in visible_files(folder / name) if p.suffix.lower() not in (*IMAGE_SUFFIXES, VERIFIED)]
        unreadable += [{"path": str(p), "reason": f"not an image file (suffix {p.suffix!r})"} for p in others]
        for path in image_files(folder / name):
            row = None
            if rows_of is not None:
                if path.name not in rows_of.index:
                    unreadable.append({"path": str(path), "reason": f"no row for {path.name!r} in {table}"})
                    continue
                row = rows_of.loc[path.name]
            try:
                pixels = load_image(path)
            except ImageReadError as error:
                unreadable.append({"path": str(path), "reason": str(error)})
                continue
            if settings.metadata == "table":
                values = pd.to_numeric(row[columns], errors="coerce").to_numpy(float)
                if not np.isfinite(values).all():
                    bad = columns[int(np.argmin(np.isfinite(values)))]
                    unreadable.append({"path": str(path), "reason": f"metadata {bad!r} is not a number in {table}"})
                    continue
            elif settings.metadata == "pixels":
                values = np.array(list(flowcam_metadata(pixels, settings.microns_per_pixel).values()))
            else:
                values = np.zeros(0)
            session = _session(path.name, row, settings, pattern)
            labelled.append(
                {"path": str(path), "class": name, "session": session, **dict(zip(columns, values, strict=True))}
            )
    if not labelled:
        raise ValueError(f"{folder}: no readable labelled image")
    frame = pd.DataFrame(labelled, columns=["path", "class", "session", *columns])
    log.info("labelled images per class:\n%s", frame["class"].value_counts().to_string())
    if unreadable:
        log.warning("%d files not used (listed with the reason in the unreadable table)", len(unreadable))
    return frame, pd.DataFrame(unreadable, columns=UNREADABLE_COLUMNS)
