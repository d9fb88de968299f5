"""The download layer: mirrors, verified atomic fetches, retries and the registry of remote files."""

from __future__ import annotations

import hashlib
import http.server
import os
import shutil
import threading
import urllib.parse
from functools import partial
from pathlib import Path

import pytest

from fingerprintml.download import (
    ChecksumError,
    DownloadError,
    RemoteFile,
    fetch,
    load_registry,
    resolve_url,
    sha256_of,
    tree_files,
    verify_download,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
URL = f"https://raw.githubusercontent.com/owner/repo/{COMMIT}/data/values.txt"
CONTENT = b"-4.10\t0.14\r\n-4.57\t0.14\r\n"
NANOTRACER_URL = (
    "https://raw.githubusercontent.com/xliu-deep/NanoTracer/878dffbd13ecb529a5f971365fce437c1d2994e3/data/X_train.txt"
)
NANOTRACER_SHA = "2b1c52beeb22f17d3a9a161e1670c2a3c9d98a89b961c5b3a28b28b02fea86ba"


def leftovers(folder: Path) -> list[str]:
    """Every file under ``folder`` outside the mirror, hidden temporary files included."""
    files = [p.relative_to(folder) for p in folder.rglob("*") if p.is_file()]
    return sorted(str(p) for p in files if p.parts[0] != "mirror")


@pytest.fixture
def fake_mirror(tmp_path: Path) -> Path:
    """A mirror folder holding CONTENT at the path of URL."""
    root = tmp_path / "mirror"
    target = root / "owner" / "repo" / COMMIT / "data" / "values.txt"
    target.parent.mkdir(parents=True)
    target.write_bytes(CONTENT)
    return root


@pytest.fixture
def remote() -> RemoteFile:
    return RemoteFile(name="values.txt", url=URL, sha256=hashlib.sha256(CONTENT).hexdigest())


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_mirror(fake_mirror: Path):
    """A loopback HTTP server on the fake mirror; yields (base URL, list of requested paths)."""
    requests: list[str] = []

    class Handler(_QuietHandler):
        def do_GET(self):
            requests.append(self.path)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(fake_mirror)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_resolve_url_without_mirror_is_the_url():
    assert resolve_url(URL, None) == URL
    assert resolve_url(URL, "") == URL


def test_a_local_file_url_is_read_where_it_is_with_or_without_a_mirror(tmp_path: Path):
    archive = tmp_path / "own" / "spectra.zip"
    archive.parent.mkdir()
    archive.write_bytes(b"user archive")
    remote = RemoteFile("gamma/spectra.zip", f"file://{archive}", sha256_of(archive))
    for mirror in (None, str(tmp_path / "mirror")):
        dest = fetch(remote, tmp_path / f"dest-{mirror is None}.zip", mirror=mirror, retries=1, backoff=0)
        assert dest.read_bytes() == b"user archive"


def test_resolve_url_directory_and_file_mirrors(tmp_path: Path):
    expected = tmp_path / "owner" / "repo" / COMMIT / "data" / "values.txt"
    assert Path(resolve_url(URL, str(tmp_path))) == expected
    assert Path(resolve_url(URL, f"file://{tmp_path}")) == expected


@pytest.mark.parametrize("mirror_url", ["http://127.0.0.1:8765", "http://127.0.0.1:8765/"])
def test_resolve_url_http_mirror_replaces_scheme_and_host(mirror_url: str):
    resolved = resolve_url(URL, mirror_url)
    parts = urllib.parse.urlsplit(resolved)
    assert (parts.scheme, parts.netloc) == ("http", "127.0.0.1:8765")
    assert parts.path == f"/owner/repo/{COMMIT}/data/values.txt"


def test_fetch_from_directory_mirror(tmp_path: Path, fake_mirror: Path, remote: RemoteFile):
    dest = tmp_path / "out" / "values.txt"
    assert fetch(remote, dest, mirror=str(fake_mirror), retries=1, backoff=0) == dest
    assert dest.read_bytes() == CONTENT
    # Beside the file, its verification record (what verify_download checks it against later).
    assert leftovers(tmp_path) == ["out/values.txt", "out/values.txt.verified"]


def test_fetch_real_nanotracer_file_from_shared_mirror(tmp_path: Path, mirror: Path):
    remote = RemoteFile(name="isotopes/X_train.txt", url=NANOTRACER_URL, sha256=NANOTRACER_SHA)
    dest = fetch(remote, tmp_path / "X_train.txt", mirror=f"file://{mirror}", retries=1, backoff=0)
    assert hashlib.sha256(dest.read_bytes()).hexdigest() == NANOTRACER_SHA
    assert len(dest.read_text().splitlines()) == 113


def test_fetch_over_loopback_http(tmp_path: Path, http_mirror, remote: RemoteFile):
    base, requests = http_mirror
    dest = tmp_path / "values.txt"
    fetch(remote, dest, mirror=base, retries=1, backoff=0)
    assert dest.read_bytes() == CONTENT
    assert requests == [f"/owner/repo/{COMMIT}/data/values.txt"]


def test_verified_file_is_not_fetched_again(tmp_path: Path, http_mirror, remote: RemoteFile):
    base, requests = http_mirror
    dest = tmp_path / "values.txt"
    fetch(remote, dest, mirror=base, retries=1, backoff=0)
    fetch(remote, dest, mirror=base, retries=1, backoff=0)
    assert len(requests) == 1
    assert dest.read_bytes() == CONTENT


def test_verified_file_needs_no_source(tmp_path: Path, fake_mirror: Path, remote: RemoteFile):
    dest = tmp_path / "values.txt"
    fetch(remote, dest, mirror=str(fake_mirror), retries=1, backoff=0)
    shutil.rmtree(fake_mirror)
    assert fetch(remote, dest, mirror=str(fake_mirror), retries=1, backoff=0) == dest
    assert dest.read_bytes() == CONTENT


def test_stale_file_at_dest_is_replaced(tmp_path: Path, fake_mirror: Path, remote: RemoteFile):
    dest = tmp_path / "values.txt"
    dest.write_bytes(b"an older, different version\n")
    fetch(remote, dest, mirror=str(fake_mirror), retries=1, backoff=0)
    assert dest.read_bytes() == CONTENT


def test_checksum_mismatch_keeps_bad_bytes_aside(tmp_path: Path, fake_mirror: Path):
    declared = hashlib.sha256(b"the bytes the registry expects").hexdigest()
    actual = hashlib.sha256(CONTENT).hexdigest()
    remote = RemoteFile(name="values.txt", url=URL, sha256=declared)
    dest = tmp_path / "out" / "values.txt"
    with pytest.raises(ChecksumError) as info:
        fetch(remote, dest, mirror=str(fake_mirror), retries=3, backoff=0)
    message = str(info.value)
    assert "values.txt" in message
    assert declared in message
    assert actual in message
    assert not dest.exists()
    bad = dest.with_name("values.txt.sha256-mismatch")
    assert bad.read_bytes() == CONTENT
    assert leftovers(tmp_path) == [f"out/{bad.name}"]


def test_missing_file_in_directory_mirror(tmp_path: Path, fake_mirror: Path):
    remote = RemoteFile(name="absent.txt", url=URL.replace("values.txt", "absent.txt"), sha256="0" * 64)
    dest = tmp_path / "out" / "absent.txt"
    with pytest.raises(DownloadError) as info:
        fetch(remote, dest, mirror=str(fake_mirror), retries=2, backoff=0)
    assert not isinstance(info.value, ChecksumError)
    assert "absent.txt" in str(info.value)
    assert "2 attempts" in str(info.value)
    assert leftovers(tmp_path) == []


def test_http_404_is_retried_then_fails(tmp_path: Path, http_mirror):
    base, requests = http_mirror
    remote = RemoteFile(name="absent.txt", url=URL.replace("values.txt", "absent.txt"), sha256="0" * 64)
    dest = tmp_path / "absent.txt"
    with pytest.raises(DownloadError) as info:
        fetch(remote, dest, mirror=base, retries=3, backoff=0)
    assert not isinstance(info.value, ChecksumError)
    assert len(requests) == 3
    assert "404" in str(info.value)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("  url: https://example.org/a.txt\n", "keys"),
        ("  url: https://example.org/a.txt\n  sha256: abc123\n", "sha256"),
        (f"  url: https://example.org/a.txt\n  sha256: {'g' * 64}\n", "sha256"),
    ],
)
def test_load_registry_rejects_malformed_entries(tmp_path: Path, entry: str, problem: str):
    good = f"good.txt:\n  url: https://example.org/good.txt\n  sha256: {'a' * 64}\n"
    path = tmp_path / "remote_files.yaml"
    path.write_text(good + "broken/entry.txt:\n" + entry)
    with pytest.raises(ValueError, match=problem) as info:
        load_registry(path)
    assert "'broken/entry.txt'" in str(info.value)


def test_load_registry_reads_entries(tmp_path: Path):
    path = tmp_path / "remote_files.yaml"
    path.write_text(f"a/b.txt:\n  url: https://example.org/b.txt\n  sha256: {'AB' * 32}\n")
    registry = load_registry(path)
    assert registry == {"a/b.txt": RemoteFile(name="a/b.txt", url="https://example.org/b.txt", sha256="ab" * 32)}


def test_project_registry_matches_the_mirrored_files(repo_root: Path, mirror: Path):
    registry = load_registry(repo_root / "resources" / "remote_files.yaml")
    assert registry
    for name, remote in registry.items():
        assert remote.name == name
        members = tree_files(remote, Path(name)) if remote.manifest else [(remote, Path(name))]
        for member, _ in members:
            path = Path(resolve_url(member.url, str(mirror)))
            assert path.is_file(), f"{name}: {path} is not in the mirror"
            assert sha256_of(path) == member.sha256, f"{name}: {path}"


def test_unpinned_user_archive_is_fetched_once_and_kept(tmp_path: Path) -> None:
    source = tmp_path / "host" / "archive.zip"
    source.parent.mkdir()
    source.write_bytes(b"user data")
    dest = tmp_path / "out" / "archive.zip"
    dest.parent.mkdir()
    fetch(RemoteFile("archive.zip", str(source), None), dest)
    assert dest.read_bytes() == b"user data"
    source.write_bytes(b"changed upstream")
    fetch(RemoteFile("archive.zip", str(source), None), dest)
    assert dest.read_bytes() == b"user data"


def test_a_download_edited_after_verification_is_caught(tmp_path: Path, mirror: Path) -> None:
    """The issue's case on the real NanoTracer training table: a value edited after the download is refused, also
    when the edit keeps the size and the modification time; new time stamps on the same bytes are not an edit."""
    remote = RemoteFile(name="isotopes/X_train.txt", url=NANOTRACER_URL, sha256=NANOTRACER_SHA)
    dest = fetch(remote, tmp_path / "X_train.txt", mirror=str(mirror), retries=1, backoff=0)
    verify_download(remote, dest)
    os.utime(dest)
    verify_download(remote, dest)
    original, status = dest.read_text(), dest.stat()
    edited = original.replace("-4.57", "-4.75", 1)
    assert edited != original and len(edited) == len(original)
    dest.write_text(edited)
    os.utime(dest, ns=(status.st_atime_ns, status.st_mtime_ns))
    with pytest.raises(ChecksumError) as info:
        verify_download(remote, dest)
    assert f"{dest}: sha256 is {sha256_of(dest)}, declared {NANOTRACER_SHA}" in str(info.value)
    dest.write_text(original.replace("-4.57", "94.57", 1))
    with pytest.raises(ChecksumError, match="delete it and the workflow fetches it again"):
        verify_download(remote, dest)


def test_an_unpinned_user_archive_is_checked_against_its_first_fetch(tmp_path: Path) -> None:
    source = tmp_path / "archive.zip"
    source.write_bytes(b"user data")
    remote = RemoteFile("archive.zip", str(source), None)
    dest = fetch(remote, tmp_path / "out" / "archive.zip")
    verify_download(remote, dest)
    dest.write_bytes(b"user data, edited")
    with pytest.raises(ChecksumError, match=f"fetched as {hashlib.sha256(b'user data').hexdigest()}"):
        verify_download(remote, dest)
    verify_download(remote, tmp_path / "out" / "not_fetched_yet.zip")


def _tree_registry(tmp_path: Path, files: dict[str, bytes]) -> tuple[RemoteFile, Path]:
    """A mirror holding ``files`` under data/ of URL's commit, and the registry entry of that tree."""
    base = tmp_path / "mirror" / "owner" / "repo" / COMMIT / "data"
    lines = ["path\tsha256"]
    for relative, content in files.items():
        (base / relative).parent.mkdir(parents=True, exist_ok=True)
        (base / relative).write_bytes(content)
        lines.append(f"{relative}\t{hashlib.sha256(content).hexdigest()}")
    (tmp_path / "registry").mkdir()
    (tmp_path / "registry" / "tree.tsv").write_text("\n".join(lines) + "\n")
    registry = tmp_path / "registry" / "remote_files.yaml"
    registry.write_text(
        f"images/manifest.tsv:\n  url: https://raw.githubusercontent.com/owner/repo/{COMMIT}/data\n"
        "  manifest: tree.tsv\n"
    )
    return load_registry(registry)["images/manifest.tsv"], base


def test_file_tree_is_one_entry_fetched_file_by_file_and_verified(tmp_path: Path):
    files = {"classes/a/x 1.png": b"one", "classes/b/y.png": b"two", "table.csv": b"file,class\n"}
    remote, base = _tree_registry(tmp_path, files)
    dest = tmp_path / "downloads" / "images" / "manifest.tsv"
    fetch(remote, dest, mirror=str(tmp_path / "mirror"))
    assert {relative: (dest.parent / relative).read_bytes() for relative in files} == files
    assert dest.read_text() == Path(remote.manifest).read_text() and remote.sha256 == sha256_of(dest)
    verify_download(remote, dest)
    (dest.parent / "classes" / "b" / "y.png").write_bytes(b"TWO")
    with pytest.raises(ChecksumError, match=r"y\.png"):
        verify_download(remote, dest)
    (base / "table.csv").write_bytes(b"changed upstream")
    (dest.parent / "table.csv").unlink()
    dest.unlink()
    with pytest.raises(ChecksumError, match=r"table\.csv"):
        fetch(remote, dest, mirror=str(tmp_path / "mirror"))
    assert not dest.exists()


@pytest.mark.parametrize("line", ["../outside.png\t" + "a" * 64, "/abs.png\t" + "a" * 64, "x.png\tnot-a-sha"])
def test_file_tree_manifest_rejects_paths_outside_the_tree_and_bad_hashes(tmp_path: Path, line: str):
    (tmp_path / "tree.tsv").write_text(f"path\tsha256\n{line}\n")
    (tmp_path / "remote_files.yaml").write_text("t/manifest.tsv:\n  url: https://example.org/t\n  manifest: tree.tsv\n")
    with pytest.raises(ValueError, match=r"tree\.tsv: line 2"):
        load_registry(tmp_path / "remote_files.yaml")
