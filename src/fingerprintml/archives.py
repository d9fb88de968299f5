"""Archives of user-given or downloaded data sets (zip, tar): extracted member by member, never outside the target."""

from __future__ import annotations

import logging
import lzma
import os
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from functools import partial
from pathlib import Path, PurePosixPath

from fingerprintml.io import atomic_path
from fingerprintml.logs import progress

log = logging.getLogger(__name__)

CHUNK = 1 << 20

# Maps an archive member's path to its path under the target folder, or None to leave the member out.
MemberPath = Callable[[PurePosixPath], PurePosixPath | None]

# What reading a damaged archive raises: bad zip CRCs, tar headers, truncated or altered gzip/bz2/xz streams.
READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError)


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
    errors naming the archive. A compressed tar's checksum covers the whole stream: when it fails, after the
    members, the archive's files under ``root`` are removed (none is known to be intact) and the error names the
    archive.

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
        with _opened(archive, zipfile.ZipFile) as bundle:
            members = [(m.filename, m.file_size, m) for m in bundle.infolist() if not m.is_dir()]
            written, _ = _extract(archive, root, members, bundle.open, member_path)
    elif tarfile.is_tarfile(archive):
        with _opened(archive, tarfile.open) as bundle:
            members = _read(archive, lambda: [(m.name, m.size, m) for m in bundle.getmembers() if m.isfile()])
            written, targets = _extract(archive, root, members, bundle.extractfile, member_path)
            try:
                while bundle.fileobj.read(CHUNK):
                    pass
            except READ_ERRORS as error:
                for target in targets:
                    target.unlink(missing_ok=True)
                raise ValueError(
                    f"{archive} is corrupt ({error}); its {len(targets)} files under {root} were removed"
                ) from error
    else:
        raise ValueError(f"{archive}: neither a zip nor a tar archive")
    log.info("%s: %d files extracted under %s", archive, written, root)
    return written


def _read(archive, read: Callable, member: str | None = None):
    """``read()``, with the errors of a damaged archive (or ``member``) turned into one naming it."""
    try:
        return read()
    except READ_ERRORS as error:
        where = f"{archive}: member {member!r} is corrupt" if member else f"{archive} is corrupt"
        raise ValueError(f"{where} ({error})") from error


def _opened(archive, open_archive):
    return _read(archive, partial(open_archive, archive))


def _extract(archive, root: Path, members: list, open_member, member_path: MemberPath) -> tuple[int, list[Path]]:
    """Extract ``members`` (name, size, member); return how many were written and every member's target."""
    written = 0
    targets = []
    for name, size, member in progress(members, desc="extract", total=len(members)):
        relative = member_path(_checked(name))
        if relative is None:
            continue
        target = root / _checked(str(relative))
        targets.append(target)
        if target.is_file() and target.stat().st_size == size:
            continue
        source = _read(archive, partial(open_member, member), name)
        with source, atomic_path(target) as part, open(part, "wb") as out:
            copied = 0
            while chunk := _read(archive, partial(source.read, CHUNK), name):
                out.write(chunk)
                copied += len(chunk)
            if copied != size:
                raise ValueError(f"{archive}: member {name!r} is corrupt ({copied} bytes of {size})")
        written += 1
    return written, targets
