"""The paper's data: the XGD spectra package, distributed by its author outside any registry. The user sets its
URL (or a local archive or folder) in ``gamma.paper.url``, optionally its sha256; its layout is ``srcs/``,
``bkgs/`` and ``test/`` folders of ``.sps`` files, possibly under one top folder."""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from pathlib import Path

from fingerprintml.download import DownloadError, RemoteFile, fetch

LAYOUT = ("srcs", "bkgs", "test")
HINT = (
    "set gamma.paper.url to the URL or local path of the XGD spectra package (an archive or a folder holding "
    "srcs/, bkgs/ and test/ of .sps files), optionally gamma.paper.sha256, or download.mirror to a copy"
)


def layout_root(folder: Path) -> Path:
    """The folder holding ``srcs/``, ``bkgs/`` and ``test/``: ``folder`` itself or one level below."""
    for candidate in [folder, *sorted(p for p in folder.iterdir() if p.is_dir())]:
        if all((candidate / name).is_dir() for name in LAYOUT):
            return candidate
    raise ValueError(f"{folder}: no srcs/, bkgs/ and test/ folders in the XGD package; {HINT}")


def unpack(archive: Path, dest: Path) -> None:
    """Unpack a zip or tar archive into ``dest`` (members may not leave it)."""
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(dest)
    elif tarfile.is_tarfile(archive):
        with tarfile.open(archive) as tf:
            tf.extractall(dest, filter="data")
    else:
        raise ValueError(f"{archive}: neither a zip nor a tar archive; {HINT}")


def fetch_paper_spectra(
    url: str | None,
    sha256: str | None,
    archive: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    mirror: str | None = None,
    retries: int = 3,
    timeout: float = 60.0,
) -> Path:
    """Fetch the package to ``archive`` (a local folder is copied instead) and lay it out under ``data_dir``."""
    if not url:
        raise ValueError(f"gamma.paper.url is not set: {HINT}")
    data_dir = Path(data_dir)
    staging = data_dir.with_name(data_dir.name + ".unpacking")
    shutil.rmtree(staging, ignore_errors=True)
    if Path(url).is_dir():
        shutil.copytree(url, staging)
        Path(archive).parent.mkdir(parents=True, exist_ok=True)
        Path(archive).write_text(f"copied from the folder {url}\n")
    else:
        try:
            fetch(RemoteFile("gamma/xgd_spectra", url, sha256), archive, mirror, retries, timeout)
        except DownloadError as error:
            raise DownloadError(f"could not fetch the XGD spectra from {url}: {error}; {HINT}") from error
        unpack(Path(archive), staging)
    root = layout_root(staging)
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in LAYOUT:
        shutil.copytree(root / name, data_dir / name, dirs_exist_ok=True)
    shutil.rmtree(staging)
    return data_dir
