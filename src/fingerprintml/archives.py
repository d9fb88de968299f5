"""Archives of user-given or downloaded data sets (zip, tar): extracted member by member, never outside the target."""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path, PurePosixPath

from fingerprintml.io import atomic_path
from fingerprintml.logs import progress

log = logging.getLogger(__name__)

CHUNK = 1 << 20

# Maps an archive member's path to its path under the target folder, or None to leave the member out.
MemberPath = Callable[[PurePosixPath], PurePosixPath | None]


def _checked(name: str) -> PurePosixPath:
    parts = PurePosixPath(name).parts
    if ".." in parts or name.startswith("/"):
        raise ValueError(f"archive member {name!r} points outside the extraction folder")
    return PurePosixPath(name)


def extract_archive(
    archive: str | os.PathLike[str],
    root: str | os.PathLike[str],
    member_path: MemberPath = lambda member: member,
) -> int:
    """Extract the files of a zip or tar ``archive`` under ``root``; return how many were written.

    Each member is streamed to a temporary name and renamed into place, so the disk never holds a second full copy
    and an interrupted extraction leaves no half file; a member already in place with its size is kept (a rerun
    resumes). A member whose path leaves ``root``, a corrupt member and a file that is neither zip nor tar are
    errors naming the archive.

    Parameters
    ----------
    archive
        The archive file.
    root
        The folder to extract into.
    member_path
        Where a member goes below ``root`` (default: its own path), or None to skip it.
    """
    root = Path(root)
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as bundle:
            members = [(m.filename, m.file_size, m) for m in bundle.infolist() if not m.is_dir()]
            return _extract(archive, root, members, bundle.open, member_path)
    if tarfile.is_tarfile(archive):
        with tarfile.open(archive) as bundle:
            members = [(m.name, m.size, m) for m in bundle.getmembers() if m.isfile()]
            return _extract(archive, root, members, bundle.extractfile, member_path)
    raise ValueError(f"{archive}: neither a zip nor a tar archive")


def _extract(archive, root: Path, members: list, open_member, member_path: MemberPath) -> int:
    written = 0
    for name, size, member in progress(members, desc="extract", total=len(members)):
        relative = member_path(_checked(name))
        if relative is None:
            continue
        target = root / _checked(str(relative))
        if target.is_file() and target.stat().st_size == size:
            continue
        try:
            with atomic_path(target) as partial, open_member(member) as source, open(partial, "wb") as out:
                shutil.copyfileobj(source, out, CHUNK)
        except (zipfile.BadZipFile, tarfile.TarError, OSError) as error:
            raise ValueError(f"{archive}: member {name!r} is corrupt ({error})") from error
        written += 1
    log.info("%s: %d files extracted under %s", archive, written, root)
    return written
