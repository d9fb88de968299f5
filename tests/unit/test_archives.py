"""Archive extraction: zip and tar, member by member, resumable, never outside the target, damage named."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pytest

from fingerprintml.archives import extract_archive

# Random bytes: deflate stores them as they are, so an altered byte changes the data without breaking the stream.
FILES = {
    "record/datasets/a.csv": b"imgpaths,area\nimg/1.png,3.5\n",
    "record/datasets/img/1.png": np.random.default_rng(1).bytes(200_000),
    "record/datasets/img/2.png": np.random.default_rng(2).bytes(150_000),
}


def files_under(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden temporary files included) and its bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def make_zip(path: Path, files: dict[str, bytes] = FILES) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.mkdir("record/")
        for name, data in files.items():
            bundle.writestr(name, data)
    return path


def make_tar(path: Path, files: dict[str, bytes] = FILES, mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as bundle:
        folder = tarfile.TarInfo("record")
        folder.type = tarfile.DIRTYPE
        bundle.addfile(folder)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("record/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        bundle.addfile(link)
    return path


ARCHIVES = {
    "zip": lambda tmp: make_zip(tmp / "record.zip"),
    "tar.gz": lambda tmp: make_tar(tmp / "record.tar.gz"),
    "tar": lambda tmp: make_tar(tmp / "record.tar", mode="w"),
    "tar.xz": lambda tmp: make_tar(tmp / "record.tar.xz", mode="w:xz"),
}


@pytest.mark.parametrize("kind", ARCHIVES)
def test_files_are_extracted_with_their_bytes_and_nothing_else(kind: str, tmp_path: Path) -> None:
    archive = ARCHIVES[kind](tmp_path)
    root = tmp_path / "out"
    assert extract_archive(archive, root) == len(FILES)
    assert files_under(root) == FILES


def test_member_path_moves_and_skips_members(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "record.zip")

    def below_datasets(member: PurePosixPath) -> PurePosixPath | None:
        return None if member.suffix == ".csv" else PurePosixPath(*member.parts[2:])

    assert extract_archive(archive, tmp_path / "out", below_datasets) == 2
    assert set(files_under(tmp_path / "out")) == {"img/1.png", "img/2.png"}


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_rerun_keeps_the_files_in_place_and_writes_only_the_missing_ones(kind: str, tmp_path: Path) -> None:
    archive = ARCHIVES[kind](tmp_path)
    root = tmp_path / "out"
    extract_archive(archive, root)
    kept = root / "record/datasets/img/1.png"
    missing = root / "record/datasets/img/2.png"
    inode, mtime = kept.stat().st_ino, kept.stat().st_mtime_ns
    missing.unlink()
    assert extract_archive(archive, root) == 1
    assert (kept.stat().st_ino, kept.stat().st_mtime_ns) == (inode, mtime)
    assert files_under(root) == FILES
    assert extract_archive(archive, root) == 0


def test_a_file_of_another_size_is_replaced(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "record.zip")
    root = tmp_path / "out"
    half = root / "record/datasets/img/1.png"
    half.parent.mkdir(parents=True)
    half.write_bytes(FILES["record/datasets/img/1.png"][:1000])
    assert extract_archive(archive, root) == len(FILES)
    assert files_under(root) == FILES


@pytest.mark.parametrize("name", ["../outside.txt", "record/../../outside.txt", "/etc/outside.txt"])
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_a_member_leaving_the_target_is_refused(name: str, kind: str, tmp_path: Path) -> None:
    files = {"record/inside.txt": b"x", name: b"y"}
    if kind == "zip":
        archive = make_zip(tmp_path / "evil.zip", files)
    else:
        archive = make_tar(tmp_path / "evil.tar", files, mode="w")
    root = tmp_path / "deep" / "out"
    with pytest.raises(ValueError, match="points outside the extraction folder"):
        extract_archive(archive, root)
    assert not list(tmp_path.rglob("outside.txt"))


def test_a_member_path_leaving_the_target_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "record.zip")
    with pytest.raises(ValueError, match="outside"):
        extract_archive(archive, tmp_path / "out", lambda member: PurePosixPath("..") / member)


def test_a_corrupt_zip_member_is_named_and_leaves_no_file(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "record.zip")
    data = bytearray(archive.read_bytes())
    start = bytes(data).index(FILES["record/datasets/img/2.png"][:64])
    data[start + 5000] ^= 0xFF
    archive.write_bytes(bytes(data))
    root = tmp_path / "out"
    with pytest.raises(ValueError, match=r"record\.zip: member 'record/datasets/img/2\.png' is corrupt"):
        extract_archive(archive, root)
    assert set(files_under(root)) == {"record/datasets/a.csv", "record/datasets/img/1.png"}


def test_a_truncated_tar_member_is_named_and_leaves_no_file(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "record.tar", mode="w")
    data = archive.read_bytes()
    end = data.index(FILES["record/datasets/img/2.png"][:64]) + 1000
    archive.write_bytes(data[:end])
    root = tmp_path / "out"
    with pytest.raises(ValueError, match=r"record\.tar(: member 'record/datasets/img/2\.png')? is corrupt"):
        extract_archive(archive, root)
    assert "record/datasets/img/2.png" not in files_under(root)


def test_an_altered_gzip_stream_removes_what_it_extracted(tmp_path: Path) -> None:
    """A tar.gz has no checksum per member: the stream's own is checked at its end; no file is kept."""
    archive = make_tar(tmp_path / "record.tar.gz")
    data = bytearray(archive.read_bytes())
    start = bytes(data).index(FILES["record/datasets/img/1.png"][50_000:50_064])
    data[start + 5000] ^= 0xFF
    archive.write_bytes(bytes(data))
    root = tmp_path / "out"
    with pytest.raises(ValueError, match=r"record\.tar\.gz is corrupt .*CRC.*3 files under .* were removed"):
        extract_archive(archive, root)
    assert files_under(root) == {}


def test_a_truncated_tar_gz_is_an_error_naming_it(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "record.tar.gz")
    archive.write_bytes(archive.read_bytes()[:-2000])
    with pytest.raises(ValueError, match=r"record\.tar\.gz.* is corrupt"):
        extract_archive(archive, tmp_path / "out")
    assert files_under(tmp_path / "out") == {}


def test_a_file_that_is_no_archive_is_an_error(tmp_path: Path) -> None:
    other = tmp_path / "record.zip"
    other.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(ValueError, match="neither a zip nor a tar archive"):
        extract_archive(other, tmp_path / "out")
