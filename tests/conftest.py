"""Shared fixtures: the repository, the shared mirror of upstream files, and workspaces to run Snakemake in."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
MIRROR = (REPO / ".." / "shared" / "mirror").resolve()
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
# What a workspace needs of the repository to run the workflow (results, logs and .snakemake stay out).
# The targets of the shared demo run: all, unless FINGERPRINTML_DEMO_TARGETS narrows it while developing one study.
DEMO_TARGETS = os.environ.get("FINGERPRINTML_DEMO_TARGETS", "all").split()
WORKFLOW_FILES = ["Snakefile", "config.yaml", "workflow", "envs", "profiles", "resources", "src", "pyproject.toml"]


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow (not its results) to ``dest``; return it."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__", "downloads"))
        else:
            shutil.copy2(source, dest / name)
    return dest


def run_snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: int = 1800, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """Run Snakemake in ``workdir`` (in ``env``, default this process's); on failure with ``check`` the output is
    shown in the assertion."""
    env = {**(os.environ if env is None else env), "PYTHONPATH": str(workdir / "src")}
    proc = subprocess.run([*SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, timeout=timeout, env=env)
    if check:
        assert proc.returncode == 0, f"snakemake {' '.join(args)} failed:\n{proc.stdout[-5000:]}\n{proc.stderr[-5000:]}"
    return proc


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that reads the shared mirror ``mirror``, so that ``make test-fast`` can leave it out (a
    parameter of that name from ``parametrize`` is not the fixture)."""
    for item in items:
        parametrized = getattr(getattr(item, "callspec", None), "params", {})
        if "mirror" in getattr(item, "fixturenames", ()) and "mirror" not in parametrized:
            item.add_marker(pytest.mark.mirror)


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The shared mirror of upstream raw files (../shared/mirror)."""
    assert MIRROR.is_dir(), f"the shared mirror is expected at {MIRROR}"
    return MIRROR


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A fresh copy of the workflow in a temporary directory."""
    return copy_workflow(tmp_path / "workflow-copy")


@pytest.fixture(scope="session")
def demo_workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One workspace after the README's main command (the demo run of every study and its report), shared by the
    workflow tests of all studies. FINGERPRINTML_DEMO_TARGETS (space-separated) narrows the run while developing one
    study; CI leaves it unset."""
    targets = DEMO_TARGETS
    workspace = copy_workflow(tmp_path_factory.mktemp("demo") / "workflow-copy")
    run_snakemake(workspace, "--cores", "2", *targets)
    run_snakemake(workspace, "--cores", "2", *targets, "--report", "results/report.zip")
    return workspace


@pytest.fixture
def demo_copy(demo_workspace: Path, tmp_path: Path) -> Path:
    """A private copy of the complete demo workspace (results, metadata, time stamps), for tests that run Snakemake
    with other settings: the shared workspace stays as the README's main command left it."""
    copy = tmp_path / "demo-copy"
    shutil.copytree(demo_workspace, copy, symlinks=True)
    return copy
