"""The workflow through a real SLURM cluster (single node, started here): jobs go through sbatch and give the same
tables as the local demo run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_workflow, run_snakemake
from tests.slurm_cluster import Cluster, ClusterUnavailable, start
from tests.workflow.studies import REPRODUCED, same_outputs

pytestmark = pytest.mark.workflow

SLURM_FLAGS = [
    "--workflow-profile",
    "profiles/slurm",
    "--slurm-status-command",
    "squeue",
    "--slurm-no-account",
    "--slurm-keep-successful-logs",
    "--slurm-init-seconds-before-status-checks",
    "2",
]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    try:
        running = start(tmp_path_factory.mktemp("slurm"))
    except ClusterUnavailable as reason:
        pytest.skip(f"no SLURM cluster on this machine: {reason}")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def slurm_run(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    workspace = copy_workflow(tmp_path_factory.mktemp("slurm-run") / "workflow-copy")
    targets = [path for paths in REPRODUCED.values() for path in paths]
    proc = run_snakemake(workspace, *SLURM_FLAGS, *targets, env=cluster.env)
    return workspace, proc.stdout + proc.stderr


def test_every_job_went_through_sbatch(slurm_run: tuple[Path, str]) -> None:
    workspace, output = slurm_run
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", output)
    finished = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", output)
    assert finished, output[-3000:]
    assert len(submitted) >= len(finished)
    slurm_logs = list((workspace / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.stem for p in slurm_logs} >= set(submitted[: len(finished)])
    assert not re.search(r"Error in rule", output)


@pytest.mark.parametrize("study", sorted(REPRODUCED))
def test_slurm_results_equal_the_local_run(slurm_run: tuple[Path, str], demo_workspace: Path, study: str) -> None:
    workspace, _ = slurm_run
    for path in REPRODUCED[study]:
        assert same_outputs(workspace / path, demo_workspace / path), path
