"""Provenance: package lists derived from the study's env files, versions of what is installed, the file itself."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from fingerprintml import provenance
from fingerprintml.provenance import env_distributions, git_commit, package_versions, write_provenance

from .conftest import REPO


def envs(study: str) -> list[Path]:
    return sorted((REPO / "envs").glob(f"{study}-*.yaml"))


def test_the_xrd_envs_give_its_packages_under_their_pip_names() -> None:
    names = env_distributions(envs("xrd"))
    assert names[:2] == ["fingerprintml", "snakemake"]
    assert {"pymatgen", "torch", "numba", "scipy", "spglib", "matplotlib", "numpy"} <= set(names)
    assert not {"python", "pytorch", "matplotlib-base", "git"} & set(names)
    assert names[2:] == sorted(set(names[2:]))


def test_each_study_lists_the_packages_of_its_own_envs_only() -> None:
    assert {"becquerel"} <= set(env_distributions(envs("gamma"))) and "torch" not in env_distributions(envs("gamma"))
    assert {"hiclass", "scikit-optimize"} <= set(env_distributions(envs("isotopes")))
    assert {"scikit-image", "pillow", "pyarrow", "umap-learn"} <= set(env_distributions(envs("particles")))
    assert {"diffpy.srfit", "shap", "xgboost-cpu", "xgboost"} <= set(env_distributions(envs("motifs")))
    assert env_distributions([REPO / "envs" / "provenance.yaml"])[2:] == ["numpy", "pandas", "pyyaml", "tqdm"]


def test_version_constraints_and_build_strings_are_not_part_of_the_name(tmp_path: Path) -> None:
    env = tmp_path / "env.yaml"
    env.write_text(
        yaml.safe_dump({"dependencies": ["python=3.11", "numpy>=2", "scipy =1.17", "pytorch=2.13.0=cpu_h1", "git"]})
    )
    assert env_distributions([env]) == ["fingerprintml", "snakemake", "numpy", "scipy", "torch"]


def fake_versions(installed: dict[str, str]):
    def version(name: str) -> str:
        if name not in installed:
            raise metadata.PackageNotFoundError(name)
        return installed[name]

    return version


def test_package_versions_name_the_missing_ones_but_not_the_other_build(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provenance.metadata, "version", fake_versions({"numpy": "2.4.6", "xgboost-cpu": "3.2.0"}))
    assert package_versions(["numpy", "shap", "xgboost-cpu", "xgboost"]) == {
        "numpy": "2.4.6",
        "shap": "not installed",
        "xgboost-cpu": "3.2.0",
    }
    monkeypatch.setattr(provenance.metadata, "version", fake_versions({}))
    assert package_versions(["xgboost-cpu", "xgboost"]) == {"xgboost-cpu": "not installed", "xgboost": "not installed"}


def test_package_versions_are_the_installed_ones() -> None:
    assert package_versions(["numpy", "pyyaml"]) == {"numpy": metadata.version("numpy"), "pyyaml": yaml.__version__}


def test_git_commit_outside_git_and_in_a_dirty_tree(tmp_path: Path) -> None:
    assert git_commit(tmp_path) == "unknown"
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "a.txt").write_text("1")
    subprocess.run([*git, "add", "a.txt"], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "a"], cwd=tmp_path, check=True)
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tmp_path, capture_output=True, text=True).stdout.strip()
    assert git_commit(tmp_path) == head
    (tmp_path / "a.txt").write_text("2")
    assert git_commit(tmp_path) == f"{head}-dirty"


def test_write_provenance_records_the_dataset_and_its_settings(tmp_path: Path) -> None:
    settings = {"dataset": "paper", "datasets": {"paper": {"n": 400}}, "seed": 1}
    path = tmp_path / "results" / "isotopes" / "paper" / "provenance.yaml"
    write_provenance(path, "isotopes", "paper", settings, ["numpy"], tmp_path)
    written = yaml.safe_load(path.read_text())
    assert (written["study"], written["dataset"], written["config"]) == ("isotopes", "paper", settings)
    assert written["packages"] == {"numpy": metadata.version("numpy")}
    assert written["git_commit"] == "unknown"
