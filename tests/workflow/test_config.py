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


def test_a_new_isotopes_dataset_is_one_config_block(workspace: Path, tmp_path: Path) -> None:
    """A dataset added as one block under isotopes.datasets is planned beside the demo, into its own folder, with
    its own settings."""
    extra = tmp_path / "small.yaml"
    extra.write_text(
        "isotopes:\n  dataset: [demo, small]\n  datasets:\n    small:\n"
        "      classes: resources/isotopes/demo_classes.csv\n      cv: loo\n"
        "      search: {n_calls: 4}\n      nested: {outer_folds: 2, inner_cv: 3, n_calls: 3}\n"
    )
    proc = run_snakemake(workspace, "-n", "isotopes", "--configfile", str(extra))
    for dataset in ("demo", "small"):
        assert f"results/isotopes/{dataset}/model_comparison.csv" in proc.stdout
        assert f"results/isotopes/{dataset}/provenance.yaml" in proc.stdout
    # Leave-one-out jobs of the new dataset run on two threads, the demo's 5-fold ones on one.
    search = proc.stdout.split("rule isotopes_search:")[1:]
    threads = {("small" if "dataset=small" in job else "demo"): "threads: 2" in job for job in search}
    assert threads == {"small": True, "demo": False}


def test_user_is_not_an_isotopes_dataset_name(workspace: Path) -> None:
    _edit_config(workspace, lambda c: c["isotopes"]["datasets"].update(user=c["isotopes"]["datasets"]["demo"]))
    proc = run_snakemake(workspace, "-n", "isotopes", check=False)
    assert proc.returncode != 0
    assert "user" in proc.stdout + proc.stderr
