"""Named datasets of a study: which ones a run builds and the settings block of each.

Every study's config has ``dataset`` (one name or a list: what the study's target builds) and ``datasets``
(one block per name: its source files and every setting that differs between datasets). The reserved name
``user`` is the dataset made of the user's own data (e.g. ``xrd.cif_dir``, ``motifs.input``); predictions for the
user's own queries go under ``<dataset>/user/`` of the dataset whose model made them. Standard library only: the
Snakefile plans with it.
"""

from __future__ import annotations

import os
from collections.abc import Container, Mapping
from pathlib import Path
from typing import Any

from fingerprintml.config_errors import config_problem

USER = "user"
REGISTRY = "resources/remote_files.yaml"


def requested_datasets(study_config: Mapping[str, Any], study: str) -> list[str]:
    """The names in ``<study>.dataset`` (a name or a list; a repeat counts once), each checked against
    ``<study>.datasets`` as :func:`dataset_settings` does (``study_config`` is the study's config section, ``study``
    its name for the messages)."""
    requested = study_config["dataset"]
    names = list(dict.fromkeys([requested] if isinstance(requested, str) else requested))
    for name in names:
        dataset_settings(study_config, study, name)
    return names


def dataset_settings(study_config: Mapping[str, Any], study: str, name: str) -> dict[str, Any]:
    """The settings block ``<study>.datasets.<name>`` (an empty block is ``{}``); an unknown name is an error listing
    the known ones.

    Parameters
    ----------
    study_config
        The study's config section.
    study
        The study's name, for the message.
    name
        The dataset.
    """
    blocks = study_config["datasets"]
    if name not in blocks:
        raise ValueError(
            f"config.yaml: {study}.dataset names {name!r}, which is not a block of {study}.datasets; "
            f"known datasets: {', '.join(sorted(blocks))}"
        )
    return blocks[name] or {}


def lookup(settings: Mapping[str, Any], dotted: str) -> Any:
    """The value at ``dotted`` (``"search.n_calls"``) in a nested settings block; a missing key names the path."""
    value: Any = settings
    for key in dotted.split("."):
        if not isinstance(value, Mapping) or key not in value:
            raise KeyError(f"dataset setting {dotted!r}: no key {key!r}")
        value = value[key]
    return value


def require_declared(key: str, declared: Container[str], owner: str, hint: str = "", note: str = "") -> str:
    """``key`` when the registry ``declared`` holds it; otherwise an error that names ``owner`` and shows the entry to
    add (a ``file://`` URL and its sha256).

    Parameters
    ----------
    key
        The registry key a dataset names.
    declared
        The registry's keys.
    owner
        Who names the key, opening the message (e.g. ``"gamma dataset 'paper': its archive"``).
    hint
        Sentences before the entry (where to get the file).
    note
        A line after the entry.
    """
    if key in declared:
        return key
    raise ValueError(
        f"{owner} {key!r} is not declared in {REGISTRY}. {hint}Add to {REGISTRY}:\n"
        f"{key}:\n  url: file:///absolute/path/to/the/file\n  sha256: <the output of sha256sum on it>\n{note}"
    )


def user_files(path: str | os.PathLike[str] | None, key: str) -> list[str]:
    """The files of the user's input ``key`` (its dotted config key) at ``path``: the file itself, or every file under
    the folder (any depth; names starting with a dot aside), sorted; none when ``path`` is not set.

    The workflow lists them at planning as inputs of the jobs that read the folder, so an edited, added or removed
    file reruns those jobs, and the provenance file records them with their sha256. A path that does not exist, or a
    folder without files, is an error naming the key and the path.

    Parameters
    ----------
    path
        The config value (a file or a folder; relative to the working directory).
    key
        The config key, for the message (e.g. ``"gamma.query_dir"``).
    """
    if not path:
        return []
    root = Path(path)
    if root.is_file():
        return [str(root)]
    if not root.is_dir():
        raise FileNotFoundError(config_problem(key, str(path), f"no such file or folder (in {Path.cwd()})"))
    found = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        found += [os.path.join(folder, name) for name in names if not name.startswith(".")]
    if not found:
        raise FileNotFoundError(config_problem(key, str(path), "the folder holds no files"))
    return sorted(found)
