"""The COD CIF list of XRDidentifier: sharding, and polite fetching with retries and resume."""

from __future__ import annotations

import logging
import os
import time
import urllib.parse
from pathlib import Path

import pandas as pd

from fingerprintml.download import DownloadError, RemoteFile, fetch

log = logging.getLogger(__name__)

FETCH_COLUMNS = ["source_id", "url", "path", "status", "reason"]


def read_cif_list(path: str | os.PathLike[str]) -> list[str]:
    """The CIF URLs of a list file, one per line (blank lines and # comments skipped), duplicates removed."""
    urls: list[str] = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if not line.endswith(".cif") or "://" not in line:
            raise ValueError(f"{path}:{number}: not a CIF URL: {line!r}")
        urls.append(line)
    return list(dict.fromkeys(urls))


def source_id(url: str) -> str:
    """``cod-1000067`` for ``.../cod/1000067.cif``."""
    return "cod-" + Path(urllib.parse.urlsplit(url).path).stem


def shard_names(n_items: int, shard_size: int) -> list[str]:
    """Shard wildcards (``000``, ``001``, ...) covering ``n_items`` in shards of ``shard_size``."""
    return [f"{i:03d}" for i in range((n_items + shard_size - 1) // shard_size)]


def shard_items(items: list, shard: str, shard_size: int) -> list:
    start = int(shard) * shard_size
    return items[start : start + shard_size]


def fetch_cifs(
    urls: list[str],
    dest: str | os.PathLike[str],
    mirror: str | None,
    retries: int,
    timeout: float,
    delay: float,
    backoff: float = 2.0,
) -> pd.DataFrame:
    """Fetch each CIF to ``dest/<id>.cif``; one row per URL with status fetched / present / rejected.

    CIFs already there (non-empty) are kept, so a rerun after a crash resumes; ``delay`` seconds separate requests
    (polite rate limit); a CIF that cannot be fetched or comes back empty is rejected with its reason and the
    loop goes on.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rows = []
    for url in urls:
        sid = source_id(url)
        path = dest / f"{sid}.cif"
        row = {"source_id": sid, "url": url, "path": str(path), "status": "present", "reason": ""}
        if path.is_file() and path.stat().st_size > 0:
            rows.append(row)
            continue
        try:
            fetch(RemoteFile(sid, url, None), path, mirror=mirror, retries=retries, timeout=timeout, backoff=backoff)
            row["status"] = "fetched"
            if path.stat().st_size == 0:
                path.unlink()
                row.update(status="rejected", reason="empty file")
        except DownloadError as error:
            row.update(status="rejected", reason=f"missing: {error}")
        if row["status"] == "rejected":
            log.warning("%s: rejected (%s)", sid, row["reason"])
        rows.append(row)
        time.sleep(delay)
    return pd.DataFrame(rows, columns=FETCH_COLUMNS)


def list_cifs(folder: str | os.PathLike[str]) -> list[str]:
    """The .cif files of a user folder, sorted (shards follow this order); an error names a bad folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"config.yaml: xrd.cif_dir {folder} is not a directory")
    cifs = sorted(str(p) for p in folder.iterdir() if p.suffix.lower() == ".cif")
    if not cifs:
        raise ValueError(f"config.yaml: xrd.cif_dir {folder} holds no .cif file")
    return cifs


def count_urls(path: str | os.PathLike[str]) -> int:
    """Number of URLs in a list written by the COD list step (one per line)."""
    return sum(1 for line in Path(path).read_text().splitlines() if line.strip())
