"""Download layer: remote files declared once (pinned URL + sha256), fetched atomically and verified.

A verified download gets a record beside it (``<file>.verified``: its sha256 and the file's size, times and inode);
:func:`verify_download` checks the file again against it whenever the workflow plans a job that reads it, and hashes
it anew when any of those changed, so a download edited after its verification is caught before it is used.

``mirror`` (a directory, a ``file://`` URL or an ``http(s)://`` URL) replaces the scheme and host of
every remote URL: ``https://HOST/a/b/c`` is fetched from ``<mirror>/a/b/c``; ``file://`` URLs are local already.

A registry entry is one file (``url``, ``sha256``) or a pinned file tree (``url``: the tree's base URL, ``manifest``: a
committed table, relative to the registry file, of the tree's files, ``path`` and ``sha256``, tab-separated): a tree's
key names the copy of its manifest that the download rule writes once every file listed is fetched and verified
beside it (``<key's folder>/<path>``), so thousands of files are one entry and one job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import yaml

from fingerprintml.io import atomic_path, write_json

log = logging.getLogger(__name__)

CHUNK = 1 << 20
VERIFIED = ".verified"


class DownloadError(RuntimeError):
    """A remote file could not be fetched."""


class ChecksumError(DownloadError):
    """A fetched file does not match its declared sha256."""


@dataclass(frozen=True)
class RemoteFile:
    """One declared remote file: where it lives and what its bytes hash to.

    ``sha256`` is None only for a user-supplied archive whose checksum the user did not give (a config
    URL): it is then fetched once, its hash logged, and never re-downloaded while present. For a file tree,
    ``manifest`` is the committed manifest (path), ``url`` the tree's base URL and ``sha256`` the manifest's.
    """

    name: str
    url: str
    sha256: str | None
    manifest: str | None = None


MANIFEST_COLUMNS = ("path", "sha256")


def _is_sha256(value: str) -> bool:
    return len(value) == 64 and all(c in "0123456789abcdef" for c in value)


def read_manifest(path: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """The files of a tree's manifest: ``(path, sha256)`` per line after the header ``path<TAB>sha256``; a malformed
    line, an absolute path or one leaving the tree (``..``) is an error naming the file and the line."""
    lines = Path(path).read_text().splitlines()
    if not lines or tuple(lines[0].split("\t")) != MANIFEST_COLUMNS:
        raise ValueError(f"{path}: a manifest starts with the header line 'path<TAB>sha256'")
    files = []
    for number, line in enumerate(lines[1:], start=2):
        fields = line.split("\t")
        relative = fields[0]
        if (
            len(fields) != 2
            or not _is_sha256(fields[1])
            or relative.startswith("/")
            or ".." in Path(relative).parts
            or not relative
        ):
            raise ValueError(f"{path}: line {number} is not a relative path inside the tree and its sha256: {line!r}")
        files.append((relative, fields[1]))
    return files


def tree_files(remote: RemoteFile, dest: str | os.PathLike[str]) -> list[tuple[RemoteFile, Path]]:
    """Each file of a tree entry with where it lands: beside ``dest``, the manifest copy the download rule writes."""
    folder = Path(dest).parent
    base = remote.url.rstrip("/")
    return [
        (RemoteFile(f"{remote.name}:{path}", f"{base}/{urllib.parse.quote(path)}", sha), folder / path)
        for path, sha in read_manifest(remote.manifest)
    ]


def load_registry(path: str | os.PathLike[str]) -> dict[str, RemoteFile]:
    """Read the declarations file: ``{name: {url, sha256}}`` for a file, ``{name: {url, manifest}}`` for a file tree
    (the manifest relative to the declarations file, read and checked here); a malformed entry is an error naming
    it."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    registry = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict) or set(entry) not in ({"url", "sha256"}, {"url", "manifest"}):
            raise ValueError(
                f"{path}: entry {name!r} must have exactly the keys 'url' and 'sha256' (a file) or 'url' and "
                "'manifest' (a file tree)"
            )
        if "manifest" in entry:
            manifest = Path(path).parent / str(entry["manifest"])
            if not manifest.is_file():
                raise ValueError(f"{path}: entry {name!r}: manifest {manifest} not found")
            read_manifest(manifest)
            registry[name] = RemoteFile(name, str(entry["url"]), sha256_of(manifest), str(manifest))
            continue
        sha = str(entry["sha256"]).lower()
        if not _is_sha256(sha):
            raise ValueError(f"{path}: entry {name!r} has a malformed sha256 {entry['sha256']!r}")
        registry[name] = RemoteFile(name=name, url=str(entry["url"]), sha256=sha)
    return registry


def resolve_url(url: str, mirror: str | None) -> str:
    """The URL or local path to fetch ``url`` from, given an optional mirror; a ``file://`` URL (a user's own
    archive) is read where it is, mirror or not."""
    if url.startswith("file://"):
        return url[len("file://") :]
    if not mirror:
        return url
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path.lstrip("/"))
    if urllib.parse.urlsplit(mirror).scheme in ("http", "https"):
        return f"{mirror.rstrip('/')}/{path}"
    base = mirror[len("file://") :] if mirror.startswith("file://") else mirror
    return str(Path(base) / path)


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _file_state(path: Path) -> dict[str, int]:
    """What changes whenever a file's bytes do: size, modification and change times, inode."""
    status = path.stat()
    return {
        "size": status.st_size,
        "mtime_ns": status.st_mtime_ns,
        "ctime_ns": status.st_ctime_ns,
        "inode": status.st_ino,
    }


def _record(dest: Path) -> Path:
    return dest.with_name(dest.name + VERIFIED)


def _write_record(dest: Path, sha256: str) -> None:
    write_json({"sha256": sha256, **_file_state(dest)}, _record(dest))


def verify_download(remote: RemoteFile, dest: str | os.PathLike[str]) -> None:
    """Check a download already at ``dest`` against its declared sha256 (for a file declared without one: the sha256
    recorded when it was fetched) before a job reads it; nothing to check while it is not there yet.

    The file is hashed only when its size, times or inode differ from its verification record (or it has none).
    A mismatch is a :class:`ChecksumError` naming the file and both hashes.

    Parameters
    ----------
    remote
        The declaration of the file.
    dest
        Where the download rule put it.
    """
    dest = Path(dest)
    if not dest.is_file():
        return
    if remote.manifest is not None:
        for member, path in tree_files(remote, dest):
            if not path.is_file():
                raise ChecksumError(f"{path}: file of {remote.name} missing since it was fetched; delete {dest}")
            verify_download(member, path)
    try:
        record = json.loads(_record(dest).read_text())
    except (OSError, ValueError):
        record = {}
    expected = remote.sha256 or record.get("sha256")
    if record.get("sha256") == expected and {k: record.get(k) for k in ("size", "mtime_ns", "ctime_ns", "inode")} == (
        _file_state(dest)
    ):
        return
    actual = sha256_of(dest)
    if expected is not None and actual != expected:
        raise ChecksumError(
            f"{dest}: sha256 is {actual}, {'declared' if remote.sha256 else 'fetched as'} {expected}: the file changed "
            "after it was downloaded and verified; delete it and the workflow fetches it again"
        )
    _write_record(dest, actual)


def _copy_from(source: str, dest: Path, timeout: float) -> None:
    if "://" not in source:
        if not Path(source).is_file():
            raise DownloadError(f"mirror file {source} does not exist")
        shutil.copyfile(source, dest)
        return
    request = urllib.request.Request(source, headers={"User-Agent": "fingerprintml"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(dest, "wb") as out:
        shutil.copyfileobj(response, out, CHUNK)


def fetch(
    remote: RemoteFile,
    dest: str | os.PathLike[str],
    mirror: str | None = None,
    retries: int = 3,
    timeout: float = 60.0,
    backoff: float = 2.0,
) -> Path:
    """Fetch ``remote`` to ``dest`` and verify it.

    A file already at ``dest`` with the right checksum is kept as it is. The download goes to a
    temporary name beside ``dest`` and is renamed only once verified, so no half file ever sits
    under the final name. On a checksum mismatch the bad bytes are kept at ``dest.sha256-mismatch``
    for inspection and :class:`ChecksumError` is raised.
    """
    if retries < 1:
        raise ValueError(f"retries must be at least 1, got {retries}")
    dest = Path(dest)
    if remote.manifest is not None:
        return _fetch_tree(remote, dest, mirror, retries, timeout, backoff)
    if dest.is_file() and (remote.sha256 is None or sha256_of(dest) == remote.sha256):
        log.info("%s: already present%s, not downloaded again", dest, "" if remote.sha256 is None else " and verified")
        if not _record(dest).is_file():
            _write_record(dest, sha256_of(dest))
        return dest
    source = resolve_url(remote.url, mirror)
    last_error: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            with atomic_path(dest) as tmp:
                log.info("%s: fetching %s (attempt %d/%d)", remote.name, source, attempt, retries)
                _copy_from(source, tmp, timeout)
                actual = sha256_of(tmp)
                if remote.sha256 is None:
                    log.warning("%s: no checksum declared; fetched bytes have sha256 %s", remote.name, actual)
                elif actual != remote.sha256:
                    bad = dest.with_name(dest.name + ".sha256-mismatch")
                    os.replace(tmp, bad)
                    raise ChecksumError(
                        f"{remote.name}: sha256 of {source} is {actual}, declared {remote.sha256}; "
                        f"the downloaded bytes are kept at {bad}"
                    )
            _write_record(dest, actual)
            if remote.sha256 is not None:
                log.info("%s: verified sha256 %s", dest, remote.sha256)
            return dest
        except ChecksumError:
            raise
        except (OSError, urllib.error.URLError, DownloadError) as error:
            last_error = error
            log.warning("%s: attempt %d failed: %s", remote.name, attempt, error)
            if attempt < retries:
                time.sleep(backoff * 2 ** (attempt - 1))
    raise DownloadError(f"{remote.name}: could not fetch {source} after {retries} attempts: {last_error}")


def _fetch_tree(
    remote: RemoteFile, dest: Path, mirror: str | None, retries: int, timeout: float, backoff: float
) -> Path:
    """Every file of a tree entry fetched and verified beside ``dest`` (one kept when already right), then the
    manifest copied to ``dest``: its presence says the whole tree is there."""
    members = tree_files(remote, dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    log.info("%s: %d files from %s", remote.name, len(members), resolve_url(remote.url, mirror))
    for member, path in members:
        path.parent.mkdir(parents=True, exist_ok=True)
        fetch(member, path, mirror, retries, timeout, backoff)
    with atomic_path(dest) as tmp:
        shutil.copyfile(remote.manifest, tmp)
    _write_record(dest, sha256_of(dest))
    return dest
