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

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from fingerprintml.config_errors import describe_validation_error

# A schema error shows the offending key and value on its first line, not under a dump of the schema.
try:
    validate(config, "../schemas/config.schema.yaml")
except WorkflowError as error:
    if not hasattr(error.__context__, "absolute_path"):
        raise
    raise WorkflowError(describe_validation_error(error.__context__)) from None

from fingerprintml.datasets import (
    USER,
    dataset_settings,
    lookup,
    require_declared,
    requested_datasets,
    user_files as list_user_files,
)
from fingerprintml.download import load_registry, verify_download

REMOTE_FILES = load_registry(Path(workflow.basedir) / "resources/remote_files.yaml")


wildcard_constraints:
    dataset=r"[A-Za-z0-9_-]+",


def downloaded(name):
    """Local path of the declared remote file ``name`` (fetched by the download rule); a copy already there is
    checked against its sha256 again (``verify_download``), so a download edited since its verification stops the
    planning instead of reaching a job."""
    key = require_declared(name, REMOTE_FILES, "config.yaml names the remote file")
    path = f"resources/downloads/{key}"
    verify_download(REMOTE_FILES[key], path)
    return path


def datasets(study):
    """The datasets the study's target builds (``<study>.dataset``: a name or a list)."""
    return requested_datasets(config[study], study)


def dataset_block(study, wildcards):
    """The settings block of the job's dataset (``<study>.datasets.<wildcards.dataset>``)."""
    return dataset_settings(config[study], study, wildcards.dataset)


def per_dataset(study, key):
    """A params/resources function: the job's dataset's setting at ``key`` (dotted, e.g. ``"search.n_calls"``)."""
    return lambda wildcards: lookup(dataset_block(study, wildcards), key)


# Each study's config key naming the user's own files classified by its models (a file or a folder).
USER_INPUTS = {
    "isotopes": "predict.input",
    "gamma": "query_dir",
    "particles": "inference.images",
    "xrd": "query_dir",
}


def user_files(study):
    """An input of the jobs that read the user's files (``USER_INPUTS``): the file, or every file of the folder,
    listed at planning, so that an edited, added or removed file reruns them; a missing path stops the planning.
    """
    key = USER_INPUTS.get(study)
    return list_user_files(lookup(config[study], key), f"{study}.{key}") if key else []


def study_report(path, study, caption, subcategory):
    """``path`` in the report: the study's category, the dataset and ``subcategory``, caption ``<study>/<caption>``."""
    return report(
        path,
        caption=f"../report/{study}/{caption}.rst",
        category=study,
        subcategory=f"{{dataset}} {subcategory}",
    )
