"""Planning stays light: the Snakefile plans every study without importing torch, scipy, PIL or skimage.

Snakemake runs in a copy of the workflow with those modules blocked (a ``sitecustomize`` on PYTHONPATH puts a finder
in front of the import system that refuses them), so a rule file that imports a heavy package module at parse time
fails the dry run, naming the module and the file that imported it.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SNAKEMAKE, copy_workflow

pytestmark = pytest.mark.workflow

BLOCKED = ("torch", "scipy", "PIL", "skimage")

BLOCKER = f'''
import sys
import traceback

BLOCKED = {BLOCKED!r}


class HeavyImportBlocker:
    """Refuses the heavy modules, naming the file that asked for them."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            where = [f"{{f.filename}}:{{f.lineno}}" for f in traceback.extract_stack()[:-1]
                     if "importlib" not in f.filename and "sitecustomize" not in f.filename]
            raise ModuleNotFoundError(f"blocked at planning: {{name}}, imported from {{where[-3:]}}", name=name)
        return None


sys.meta_path.insert(0, HeavyImportBlocker())
'''


def plan(workdir: Path, blocker: Path, *args: str) -> subprocess.CompletedProcess:
    """``snakemake -n --cores 1 *args`` in ``workdir`` with the heavy modules blocked."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(blocker), str(workdir / "src")])}
    return subprocess.run(
        [*SNAKEMAKE, "-n", "--cores", "1", *args], cwd=workdir, capture_output=True, text=True, timeout=600, env=env
    )


@pytest.fixture(scope="module")
def blocker(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("blocker")
    (folder / "sitecustomize.py").write_text(BLOCKER)
    return folder


@pytest.fixture(scope="module")
def planning_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_workflow(tmp_path_factory.mktemp("planning") / "workflow-copy")


def test_the_blocker_blocks(blocker: Path, planning_copy: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(blocker)}
    for name in BLOCKED:
        proc = subprocess.run(
            [SNAKEMAKE[0], "-c", f"import {name}"], cwd=planning_copy, capture_output=True, text=True, env=env
        )
        assert proc.returncode != 0 and f"blocked at planning: {name}" in proc.stderr
    proc = subprocess.run([SNAKEMAKE[0], "-c", "import numpy, pandas, yaml"], env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_all_plans_without_heavy_imports(blocker: Path, planning_copy: Path) -> None:
    proc = plan(planning_copy, blocker, "all")
    assert proc.returncode == 0, f"snakemake -n all:\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    assert "Job stats" in proc.stdout + proc.stderr


def test_user_images_are_listed_without_heavy_imports(blocker: Path, planning_copy: Path, tmp_path: Path) -> None:
    """particles lists the user's images at DAG time: the listing must not need the image libraries."""
    images = tmp_path / "my-images"
    for sample in ("core-1", "core-2"):
        (images / sample).mkdir(parents=True)
        for index in range(3):
            (images / sample / f"{index}.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    override = f'particles={{"inference": {{"images": "{images}"}}}}'
    proc = plan(planning_copy, blocker, "particles", "--config", override)
    assert proc.returncode == 0, f"snakemake -n particles (user images):\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"


def test_class_folder_datasets_plan_without_heavy_imports(blocker: Path, planning_copy: Path, tmp_path: Path) -> None:
    """flowcam (a file tree of the registry, one download job) and your labelled images (train_dir: the dataset
    user) plan light, and neither has unlabelled images of its own to classify."""
    labelled = tmp_path / "labelled"
    for name in ("dust", "pollen"):
        (labelled / name).mkdir(parents=True)
        (labelled / name / "1.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    override = f'particles={{"dataset": "flowcam", "train_dir": "{labelled}"}}'
    proc = plan(planning_copy, blocker, "particles", "--config", override)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"snakemake -n particles (flowcam, train_dir):\n{out[-5000:]}"
    assert re.search(r"\bdownload\s+1\b", out) and re.search(r"\bparticles_dataset\s+2\b", out)
    assert re.search(r"\bparticles_train\s+4\b", out) and "particles_listing" not in out
