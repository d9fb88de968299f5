import re

import os
import sys
from pathlib import Path

# Rule scripts import the fingerprintml package from src/; jobs on a cluster or in a conda or
# apptainer environment re-read this file, so they find it too, installed or not. The workflow only
# extends the search path, it needs nothing from the user's environment (hence no envvars directive).
SRC = str(Path(workflow.basedir) / "src")
SEARCH_PATH = "PYTHONPATH"
if SRC not in os.environ.get(SEARCH_PATH, "").split(os.pathsep):
    os.environ[SEARCH_PATH] = os.pathsep.join(
        p for p in (SRC, os.environ.get(SEARCH_PATH)) if p
    )
sys.path.insert(0, SRC)

from fingerprintml.datasets import (
    USER,
    dataset_settings,
    lookup,
    require_declared,
    requested_datasets,
)
from fingerprintml.download import load_registry

REMOTE_FILES = load_registry(Path(workflow.basedir) / "resources/remote_files.yaml")


wildcard_constraints:
    dataset=r"[A-Za-z0-9_-]+",


def downloaded(name):
    """Local path of the declared remote file ``name`` (fetched by the download rule)."""
    return f"resources/downloads/{require_declared(name, REMOTE_FILES, 'config.yaml names the remote file')}"


def datasets(study):
    """The datasets the study's target builds (``<study>.dataset``: a name or a list)."""
    return requested_datasets(config[study], study)


def dataset_block(study, wildcards):
    """The settings block of the job's dataset (``<study>.datasets.<wildcards.dataset>``)."""
    return dataset_settings(config[study], study, wildcards.dataset)


def per_dataset(study, key):
    """A params/resources function: the job's dataset's setting at ``key`` (dotted, e.g. ``"search.n_calls"``)."""
    return lambda wildcards: lookup(dataset_block(study, wildcards), key)


def study_report(path, study, caption, subcategory):
    """``path`` in the report: the study's category, the dataset and ``subcategory``, caption ``<study>/<caption>``."""
    return report(
        path,
        caption=f"../report/{study}/{caption}.rst",
        category=study,
        subcategory=f"{{dataset}} {subcategory}",
    )
