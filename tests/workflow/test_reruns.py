"""Partial reruns after a complete demo run, read off dry runs: nothing to do when nothing changed; a changed input
reruns exactly its downstream jobs; a figure-only setting reruns only figures (a lost intermediate file:
test_reliability.py)."""

from __future__ import annotations

import os
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
import yaml

from tests.conftest import DEMO_TARGETS, run_snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def rerun_workspace(demo_workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the complete demo workspace (results, Snakemake metadata and timestamps included)."""
    copy = tmp_path_factory.mktemp("reruns") / "workflow-copy"
    shutil.copytree(demo_workspace, copy, symlinks=True)
    return copy


def planned_jobs(workspace: Path, *args: str) -> Counter[str]:
    """Rule -> number of jobs a dry run of the demo targets plans."""
    # The targets before --quiet, which would read them as its own choices.
    proc = run_snakemake(workspace, "-n", *DEMO_TARGETS, *args, "--quiet", "rules")
    table = re.search(r"Job stats:\n(.*?)\n\n", proc.stdout + "\n\n", re.DOTALL)
    if table is None:
        assert "Nothing to be done" in proc.stdout + proc.stderr, proc.stdout
        return Counter()
    counts: Counter[str] = Counter()
    for line in table.group(1).splitlines()[2:]:
        rule, count = line.split()
        if rule != "total":
            counts[rule] = int(count)
    return counts


def test_nothing_changed_nothing_reruns(rerun_workspace: Path) -> None:
    assert planned_jobs(rerun_workspace) == Counter()


def test_changed_input_reruns_exactly_its_downstream(rerun_workspace: Path) -> None:
    # A new time stamp alone reruns nothing (Snakemake compares the content it recorded); a changed value does.
    classes = rerun_workspace / "resources" / "isotopes" / "demo_classes.csv"
    original = classes.read_text()
    os.utime(classes)
    assert planned_jobs(rerun_workspace) == Counter()
    classes.write_text(original.replace("train,Natural,,,15,6.2,", "train,Natural,,,15,6.3,", 1))
    try:
        jobs = planned_jobs(rerun_workspace)
    finally:
        classes.write_text(original)
    downstream = planned_jobs(rerun_workspace, "--forcerun", "isotopes_dataset")
    assert jobs == downstream
    isotopes = yaml.safe_load((rerun_workspace / "config.yaml").read_text())["isotopes"]
    assert jobs["isotopes_dataset"] == 1
    # One search per model and learner; the selective model searches all learners in one job.
    per_learner = [m for m in isotopes["models"] if m != "selective"]
    assert jobs["isotopes_search"] == len(per_learner) * len(isotopes["learners"]) + ("selective" in isotopes["models"])
    assert all(rule.startswith("isotopes") or rule in DEMO_TARGETS for rule in jobs)


def test_figure_setting_reruns_only_figures_and_the_config_record(rerun_workspace: Path, tmp_path: Path) -> None:
    # --config reads nested values as strings; numbers go through a config file.
    override = tmp_path / "figures.yaml"
    override.write_text("isotopes:\n  figures:\n    grid_points: 60\n")
    jobs = planned_jobs(rerun_workspace, "--configfile", str(override))
    # provenance.yaml records the study's config, so it follows any config change.
    assert set(jobs) - set(DEMO_TARGETS) == {"isotopes_figure_decision_regions", "provenance"}
    assert jobs["provenance"] == 1
