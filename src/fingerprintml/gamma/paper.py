"""Archived spectra datasets, such as the paper's XGD spectra package (distributed by its author outside any
registry): a zip or tar archive declared in ``resources/remote_files.yaml`` whose ``srcs/``, ``bkgs/`` and
``test/`` folders of ``.sps`` files sit at its top or under one top folder."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from fingerprintml.archives import extract_archive
from fingerprintml.gamma.plan import LAYOUT_HINT

LAYOUT = ("srcs", "bkgs", "test")
HINT = LAYOUT_HINT


def layout_member(member: PurePosixPath) -> PurePosixPath | None:
    """Where an archive member goes below the dataset folder: ``srcs/...``, ``bkgs/...`` or ``test/...`` with at
    most one top folder stripped; anything else (a readme, macOS's ``__MACOSX/`` and ``._`` files) is left out
    (None)."""
    parts = member.parts
    if not parts or parts[0] == "__MACOSX" or parts[-1].startswith("._"):
        return None
    for depth in (0, 1):
        if len(parts) > depth + 1 and parts[depth] in LAYOUT:
            return PurePosixPath(*parts[depth:])
    return None


def extract_spectra(archive: str | os.PathLike[str], data_dir: str | os.PathLike[str]) -> dict[str, int]:
    """Extract the ``srcs/``, ``bkgs/`` and ``test/`` folders of ``archive`` into ``data_dir``; return the number of
    files in each. An archive lacking one of them, or holding them under two different top folders, is an error
    naming the archive and the expected layout."""
    tops: set[tuple[str, ...]] = set()

    def member_path(member: PurePosixPath) -> PurePosixPath | None:
        placed = layout_member(member)
        if placed is not None:
            tops.add(member.parts[: len(member.parts) - len(placed.parts)])
        return placed

    data_dir = Path(data_dir)
    extract_archive(archive, data_dir, member_path)
    if len(tops) > 1:
        folders = ", ".join(sorted("/".join(top) or "(top)" for top in tops))
        raise ValueError(f"{archive}: spectra folders under several top folders ({folders}); {HINT}")
    counts = {name: sum(1 for p in (data_dir / name).rglob("*") if p.is_file()) for name in LAYOUT}
    missing = [name for name, n in counts.items() if n == 0]
    if missing:
        raise ValueError(f"{archive}: no files in {', '.join(f'{m}/' for m in missing)}; {HINT}")
    return counts
