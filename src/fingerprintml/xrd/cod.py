"""The COD CIF list of XRDidentifier: reading it, and polite fetching with retries and resume."""

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


def fetch_cifs(
    urls: list[str],
    dest: str | os.PathLike[str],
    *,
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
