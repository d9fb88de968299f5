"""The paper's data (Zenodo record 10.5281/zenodo.7591282): streamed extraction of the archive into place.

Expected layout inside the archive (any leading folder is stripped up to ``datasets/``):
``datasets/<class>.csv`` (``imgpaths`` + the 34 FlowCam columns), the images they point to, and
``datasets/test/`` (3M+ unlabelled GRIP images). Members are copied one by one from the zip stream into
their final place, so the disk never holds a second full copy of the data.
"""

from __future__ import annotations

import logging
import os
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from fingerprintml.io import atomic_path
from fingerprintml.logs import progress

log = logging.getLogger(__name__)

CHUNK = 1 << 20


def _relative_member(name: str) -> PurePosixPath | None:
    """Path of an archive member below the data root (from ``datasets/`` on), or None to skip it."""
    parts = PurePosixPath(name).parts
    if ".." in parts or name.startswith("/"):
        raise ValueError(f"archive member {name!r} points outside the extraction folder")
    if "datasets" in parts:
        return PurePosixPath(*parts[parts.index("datasets") :])
    return PurePosixPath(*parts[1:]) if len(parts) > 1 else None


def extract_archive(archive: str | os.PathLike[str], root: str | os.PathLike[str]) -> int:
    """Extract ``archive`` under ``root`` member by member; members already in place with their size are kept.

    Returns the number of files written. A corrupt member raises an error naming it.
    """
    root = Path(root)
    written = 0
    with zipfile.ZipFile(archive) as bundle:
        members = [m for m in bundle.infolist() if not m.is_dir()]
        for member in progress(members, desc="extract", total=len(members)):
            relative = _relative_member(member.filename)
            if relative is None:
                continue
            target = root / relative
            if target.is_file() and target.stat().st_size == member.file_size:
                continue
            try:
                with atomic_path(target) as partial, bundle.open(member) as source, open(partial, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)
            except (zipfile.BadZipFile, OSError) as error:
                raise ValueError(f"{archive}: member {member.filename!r} is corrupt ({error})") from error
            written += 1
    log.info("%s: %d files extracted under %s", archive, written, root)
    return written
