"""The xrd demo end to end (shared demo run), the identify path, the user's CIFs and patterns as datasets of their
own, sharded CIF conversion reruns and the paper DAG."""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import run_snakemake

pytestmark = pytest.mark.workflow


@pytest.fixture(scope="module")
def results(demo_workspace: Path) -> Path:
    return demo_workspace / "results" / "xrd" / "demo"


def test_library_has_150_distinct_phases_read_back_from_cif(results: Path) -> None:
    phases = pd.read_csv(results / "library" / "phases.csv")
    assert len(phases) >= 150 and phases["phase_id"].is_unique
    assert (phases["phase_id"] == phases["formula"] + "|" + phases["spacegroup"] + "|" + phases["source_id"]).all()
    assert len(list((results / "cifs").glob("*.cif"))) == len(phases)
    # The demo library's four conversion shards share it out, in order.
    shards = [pd.read_csv(results / "cache" / f"{shard:05d}.csv") for shard in range(4)]
    assert [len(shard) for shard in shards] == [40, 40, 40, len(phases) - 120]
    assert pd.concat(shards)["phase_id"].tolist() == phases["phase_id"].tolist()
    assert pd.read_csv(results / "library" / "rejects.csv", keep_default_na=False).columns.tolist() == [
        "source_id",
        "path",
        "reason",
    ]


def test_demo_meets_the_accuracy_targets_on_held_out_augmentations(results: Path) -> None:
    metrics = pd.read_csv(results / "metrics.csv")
    held_out = metrics[(metrics["set"] == "held-out augmentations") & (metrics["method"] == "classifier")]
    scores = dict(zip(held_out["metric"], held_out["value"], strict=True))
    assert scores["top5"] >= 0.99 and scores["top1"] >= 0.95
    hard = metrics[(metrics["set"] == "hard") & (metrics["method"] == "classifier")].set_index("metric")["value"]
    assert hard["top1"] < scores["top1"]  # the harder set is harder
    history = pd.read_csv(results / "models" / "copy.history.csv")
    assert history["adacos_scale"].nunique() == len(history)  # the adaptive scale moves every epoch
    assert history["val_accuracy"].iloc[-1] > history["val_accuracy"].iloc[0]
    strength = pd.read_csv(results / "accuracy_vs_strength.csv")
    top1 = strength[strength["metric"] == "top1"].sort_values("strength")["value"].to_numpy()
    assert top1[0] >= top1[-1]


def test_identify_ranks_candidates_and_rejects_the_broken_file(results: Path) -> None:
    table = pd.read_csv(results / "identify.csv")
    assert {"query", "rank", "phase_id", "formula", "spacegroup", "score"} <= set(table.columns)
    phases = pd.read_csv(results / "library" / "phases.csv")
    first = table[(table["component"] == 1) & (table["rank"] == 1)]
    queries = sorted((results / "queries").glob("query_0*"))
    assert len(first) == len(queries)
    # Every single-phase query is named alone and right (no minor phase trading intensity under its peaks, the
    # isostructural twin not taken for it); the mixture comes out as two phases, its labelled one among them.
    for query, reported in table[table["rank"] == 1].groupby("query"):
        truth = phases["phase_id"].iloc[int(query.split("phase")[1][:3])]
        if "_mixture" in query:
            assert len(reported) == 2 and truth in set(reported["phase_id"]), (query, reported["phase_id"].tolist())
        else:
            assert reported["phase_id"].tolist() == [truth], (query, reported["phase_id"].tolist())
    assert table.groupby(["query", "component"])["rank"].max().eq(5).all()
    # every reported phase has a calibrated confidence, fitted on held-out simulated mixtures with an ECE reported
    assert table["confidence"].between(0, 1).all()
    calibration = json.loads((results / "calibration" / "confidence.json").read_text())
    assert calibration["held_out_phases"] > 0 and 0 <= calibration["ece"] <= 1
    rejects = pd.read_csv(results / "identify_rejects.csv")
    assert rejects["query"].tolist() == ["query_broken.xy"] and "non-numeric" in rejects["reason"].iloc[0]


def test_figures_and_report(demo_workspace: Path, results: Path) -> None:
    for name in ["learning_curves", "accuracy_vs_strength", "examples", "reliability"]:
        assert (results / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF")
        assert (results / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG")
    with zipfile.ZipFile(demo_workspace / "results" / "report.zip") as report:
        names = report.namelist()
    assert any(n.endswith("accuracy_vs_strength.png") for n in names)
    assert any(n.endswith("identify.csv") for n in names)


def _edit_config(workspace: Path, **xrd) -> None:
    path = workspace / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["xrd"].update(xrd)
    path.write_text(yaml.safe_dump(config, sort_keys=False))  # the settings' order is part of the rules' params


def _job_memory_mb(workspace: Path, rule: str) -> int:
    """The mem_mb the demo run's log records for the (single) job of ``rule``."""
    for log in sorted((workspace / ".snakemake" / "log").glob("*.snakemake.log")):
        block = re.search(rf"rule {rule}:\n(?:    .*\n)*?    resources: .*?mem_mb=(\d+)", log.read_text())
        if block:
            return int(block.group(1))
    raise AssertionError(f"no {rule} job in the demo run's logs")


def test_augment_and_train_jobs_ask_for_the_memory_of_the_training_set(demo_workspace: Path, results: Path) -> None:
    config = yaml.safe_load((demo_workspace / "config.yaml").read_text())["xrd"]["datasets"]["demo"]
    with np.load(results / "data" / "copy.npz") as data:
        patterns_mb = (data["train_x"].nbytes + data["validation_x"].nbytes) / 1e6
        assert data["train_x"].shape[0] == len(data["classes"]) * config["training"]["copies"]
    assert _job_memory_mb(demo_workspace, "xrd_augment") == int(4000 + 1.25 * patterns_mb)
    assert _job_memory_mb(demo_workspace, "xrd_train") == int(4000 + 2 * patterns_mb)


def test_user_cifs_are_sharded_and_one_changed_cif_reruns_only_its_shard(demo_workspace: Path, workspace: Path) -> None:
    cifs = workspace / "my_cifs"
    cifs.mkdir()
    for path in sorted((demo_workspace / "results" / "xrd" / "demo" / "cifs").glob("demo-rocksalt-*.cif"))[:5]:
        shutil.copy(path, cifs / path.name)
    (cifs / "broken.cif").write_text("data_x\nnot a cif\n")
    _edit_config(workspace, cif_dir=str(cifs), shard_size=2)
    # With xrd.cif_dir set, the xrd target builds the dataset `user` beside the demo.
    plan = run_snakemake(workspace, "-n", "xrd").stdout
    assert "results/xrd/user/metrics.csv" in plan and "results/xrd/demo/metrics.csv" in plan
    user = workspace / "results" / "xrd" / "user"
    run_snakemake(workspace, "--cores", "2", "results/xrd/user/library/phases.csv")
    assert len(pd.read_csv(user / "library" / "phases.csv")) == 5
    assert sorted(p.name for p in (user / "cache").glob("*.pkl")) == ["00000.pkl", "00001.pkl", "00002.pkl"]
    rejects = pd.read_csv(user / "library" / "rejects.csv")
    assert rejects["source_id"].tolist() == ["broken"]
    assert not (workspace / "results" / "xrd" / "demo").exists()
    changed = sorted(cifs.glob("*.cif"))[3]
    changed.write_text(changed.read_text().replace("_cell_length_a", "_cell_length_a ", 1))
    dry = run_snakemake(workspace, "-n", "results/xrd/user/library/phases.csv").stdout
    assert dry.count("rule xrd_convert:") == 1 and "dataset=user, shard=00001" in dry


def test_user_patterns_are_identified_with_the_dataset_model_beside_its_own(demo_copy: Path) -> None:
    """xrd.query_dir goes to results/xrd/demo/user/: the demo's simulated queries given as the user's patterns are
    identified exactly as the demo identified them; no model or table of the demo is rebuilt (only its provenance,
    which records xrd.query_dir)."""
    demo = demo_copy / "results" / "xrd" / "demo"
    shutil.copytree(demo / "queries", demo_copy / "my_patterns")
    _edit_config(demo_copy, query_dir="my_patterns")
    dry = run_snakemake(demo_copy, "-n", "xrd").stdout
    assert dry.count("rule xrd_identify_user:") == 1
    assert not any(f"rule {rule}:" in dry for rule in ["xrd_identify", "xrd_train", "xrd_evaluate", "xrd_augment"])
    run_snakemake(demo_copy, "--cores", "2", "xrd")
    for name in ["identify.csv", "identify_rejects.csv"]:
        assert pd.read_csv(demo / "user" / name).equals(pd.read_csv(demo / name)), name


def test_paper_dag_fetches_the_cod_list_in_shards(workspace: Path) -> None:
    proc = run_snakemake(workspace, "-n", "xrd", "--config", 'xrd={"dataset": "paper"}')
    assert "resources/downloads/xrd/COD-selection.txt" in proc.stdout
    assert "checkpoint xrd_cod_list:" in proc.stdout and "results/xrd/paper/cod/urls.txt" in proc.stdout
    assert "results/xrd/demo/" not in proc.stdout


def test_demo_and_paper_plan_in_one_dag(workspace: Path) -> None:
    proc = run_snakemake(workspace, "-n", "xrd", "--config", 'xrd={"dataset": ["demo", "paper"]}')
    for dataset in ["demo", "paper"]:
        assert f"results/xrd/{dataset}/provenance.yaml" in proc.stdout
        assert f"results/xrd/{dataset}/metrics.csv" in proc.stdout
    assert proc.stdout.count("rule xrd_demo_library:") == 1 and proc.stdout.count("checkpoint xrd_cod_list:") == 1


def test_dara_datasets_plan_from_the_declared_cifs_and_patterns(workspace: Path, mirror: Path) -> None:
    datasets = 'xrd={"dataset": ["dara", "dara_decoys"]}'
    proc = run_snakemake(workspace, "-n", "xrd", "--config", datasets, f'download={{"mirror": "{mirror}"}}')
    plan = proc.stdout
    assert plan.count("resources/downloads/xrd/dara/patterns/") >= 40
    assert "resources/downloads/xrd/dara/cifs/ZrO2-Baddeleyite.cif" in plan
    for dataset in ["dara", "dara_decoys"]:
        assert f"results/xrd/{dataset}/benchmark.csv" in plan
        assert f"results/xrd/{dataset}/figures/reliability.png" in plan
        assert f"results/xrd/{dataset}/queries" not in plan  # measured patterns, not simulated ones
    # the declared CIFs are one shard, the decoys' demo library its 4 shards after it
    assert "dataset=dara, shard=00000" in plan and "dataset=dara, shard=00001" not in plan
    assert "dataset=dara_decoys, shard=00004" in plan and plan.count("rule xrd_demo_library:") == 1
