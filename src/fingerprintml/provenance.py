"""Provenance of a results folder: the config used, package versions, the git commit."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from fingerprintml.download import sha256_of
from fingerprintml.io import read_yaml, write_yaml

# conda-forge package -> the Python distributions it can be installed as here (pip names).
DISTRIBUTION_NAMES = {
    "pytorch": ["torch"],
    "matplotlib-base": ["matplotlib"],
    "xgboost": ["xgboost-cpu", "xgboost"],
}
NOT_PYTHON = {"python", "git"}
# A conda dependency's name: what comes before its version constraint or build string.
CONDA_NAME = re.compile(r"^\s*([A-Za-z0-9_.\-]+)")


def git_commit(directory: str | os.PathLike[str]) -> str:
    """The commit checked out at ``directory``, with ``-dirty`` when the tree has changes; 'unknown' outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=directory, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=directory,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def package_versions(distributions: list[str]) -> dict[str, str]:
    """Installed versions of ``distributions``; 'not installed' where one is missing, unless it is one of the
    alternative builds of a package (``DISTRIBUTION_NAMES``) of which another is installed."""
    versions = {}
    for name in distributions:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    for alternatives in DISTRIBUTION_NAMES.values():
        if any(versions.get(name, "not installed") != "not installed" for name in alternatives):
            for name in alternatives:
                if versions.get(name) == "not installed":
                    del versions[name]
    return versions


def env_distributions(env_files: list[str | os.PathLike[str]]) -> list[str]:
    """The Python distributions pinned in conda env files (``name=version`` dependencies), sorted, without repeats.

    Parameters
    ----------
    env_files
        The env files of a study's rules (``envs/<study>-*.yaml``).
    """
    names = set()
    for path in env_files:
        for entry in read_yaml(path)["dependencies"]:
            name = CONDA_NAME.match(str(entry)).group(1)
            if name not in NOT_PYTHON:
                names.update(DISTRIBUTION_NAMES.get(name, [name]))
    return ["fingerprintml", "snakemake", *sorted(names)]


def write_provenance(
    path: str | os.PathLike[str],
    study: str,
    dataset: str,
    config: dict[str, Any],
    distributions: list[str],
    workflow_dir: str | os.PathLike[str],
    user_input: str | None = None,
    user_files: Sequence[str | os.PathLike[str]] = (),
) -> None:
    """Write the provenance file of one dataset's results folder of a study.

    Parameters
    ----------
    path
        The file to write.
    study, dataset
        Whose results folder it describes.
    config
        The settings the results were made with.
    distributions
        The Python distributions whose versions it records.
    workflow_dir
        The workflow's checkout, for its git commit.
    user_input
        The config key of the user's files the study's models classified (e.g. ``gamma.query_dir``).
    user_files
        Those files, recorded with their sha256 under ``user_inputs``.
    """
    inputs = {user_input: {str(file): sha256_of(file) for file in user_files}} if user_files else {}
    write_yaml(
        {
            "study": study,
            "dataset": dataset,
            "written": datetime.now(UTC).isoformat(timespec="seconds"),
            "git_commit": git_commit(workflow_dir),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "packages": package_versions(distributions),
            "config": config,
            **({"user_inputs": inputs} if inputs else {}),
        },
        path,
    )
