"""Named datasets of a study: which ones a run builds and the settings block of each.

Every study's config has ``dataset`` (one name or a list: what the study's target builds) and ``datasets``
(one block per name: its source files and every setting that differs between datasets). The reserved name
``user`` is the dataset made of the user's own data (e.g. ``xrd.cif_dir``, ``motifs.input``); predictions for the
user's own queries go under ``<dataset>/user/`` of the dataset whose model made them. Standard library only: the
Snakefile plans with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

USER = "user"


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
