"""The config is validated against its schema, and command-line overrides merge into config.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.conftest import run_snakemake


def _edit_config(workspace: Path, edit) -> None:
    path = workspace / "config.yaml"
    config = yaml.safe_load(path.read_text())
    edit(config)
    path.write_text(yaml.safe_dump(config))


def test_unknown_key_stops_the_run_naming_it(workspace: Path) -> None:
    _edit_config(workspace, lambda c: c["isotopes"].update(datset="paper"))
    proc = run_snakemake(workspace, "-n", "isotopes", check=False)
    assert proc.returncode != 0
    assert "datset" in proc.stdout + proc.stderr


def test_wrong_type_stops_the_run_naming_the_key(workspace: Path) -> None:
    _edit_config(workspace, lambda c: c["isotopes"].update(seed="forty-two"))
    proc = run_snakemake(workspace, "-n", "isotopes", check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "forty-two" in output and "seed" in output


def test_wrong_value_on_the_command_line_is_rejected(workspace: Path) -> None:
    proc = run_snakemake(workspace, "-n", "isotopes", "--config", 'isotopes={"dataset": "papers"}', check=False)
    assert proc.returncode != 0
    assert "papers" in proc.stdout + proc.stderr


def test_command_line_override_merges_into_config_yaml(workspace: Path) -> None:
    """Overriding isotopes.dataset keeps the other isotopes keys from config.yaml: the paper DAG is built."""
    proc = run_snakemake(workspace, "-n", "isotopes", "--config", 'isotopes={"dataset": "paper"}')
    assert "rule download" in proc.stdout or "download" in proc.stdout
    for name in ["X_train.txt", "y_train_hiclass.csv", "X_test.txt", "y_test.csv", "X_test_Troll.txt"]:
        assert f"resources/downloads/isotopes/{name}" in proc.stdout


def test_prediction_model_that_is_not_a_configured_run_is_rejected(workspace: Path) -> None:
    override = 'isotopes={"predict": {"input": "my_samples.csv", "model": "lcpn-catboost"}}'
    proc = run_snakemake(workspace, "-n", "isotopes", "--config", override, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "isotopes.predict.model" in output and "lcpn-catboost" in output and "lcpn-xgboost" in output
