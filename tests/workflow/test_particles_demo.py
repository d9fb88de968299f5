"""Particles demo end to end: metrics, ablation, figures, report, sharded inference, and the real FlowCam images."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from fingerprintml.download import fetch, load_registry
from fingerprintml.particles.inference import classify_images
from fingerprintml.particles.schema import CLASSES, class_of
from tests.conftest import run_snakemake

pytestmark = pytest.mark.workflow

RESULTS = Path("results/particles")
FIGURES = ["learning_curves", "confusion_matrix", "umap"]


@pytest.fixture(scope="module")
def demo(demo_workspace: Path) -> Path:
    return demo_workspace


def test_particles_outputs_exist(demo: Path) -> None:
    results = demo / RESULTS
    for name in ["test_metrics.csv", "per_class_metrics.csv", "confusion_matrix.csv", "training_history.csv"]:
        assert (results / name).stat().st_size > 0, name
    for name in FIGURES:
        assert (results / "figures" / f"{name}.pdf").read_bytes().startswith(b"%PDF"), name
        assert (results / "figures" / f"{name}.png").read_bytes().startswith(b"\x89PNG"), name
    provenance = yaml.safe_load((results / "provenance.yaml").read_text())
    assert provenance["config"]["particles"]["dataset"] == "demo"


def test_demo_accuracy_target_and_metadata_branch_adds_accuracy(demo: Path) -> None:
    metrics = pd.read_csv(demo / RESULTS / "test_metrics.csv").set_index("run")
    config = yaml.safe_load((demo / "config.yaml").read_text())["particles"]
    assert (metrics["test_images"] == config["split"]["test_per_class"]["demo"] * len(CLASSES)).all()
    assert metrics.loc["full", "accuracy"] >= 0.95
    assert metrics.loc["full", "accuracy"] > metrics.loc["image_only", "accuracy"]
    confusion = pd.read_csv(demo / RESULTS / "confusion_matrix.csv").set_index("true")
    assert np.trace(confusion[CLASSES].loc[CLASSES].to_numpy()) / confusion.to_numpy().sum() == pytest.approx(
        metrics.loc["full", "accuracy"]
    )


def test_training_history_has_every_epoch_of_both_runs(demo: Path) -> None:
    history = pd.read_csv(demo / RESULTS / "training_history.csv")
    epochs = yaml.safe_load((demo / "config.yaml").read_text())["particles"]["training"]["epochs"]["demo"]
    assert history.groupby("run")["epoch"].apply(list).to_dict() == {
        r: list(range(1, epochs + 1)) for r in ("full", "image_only")
    }


def test_sharded_inference_classifies_every_readable_image_and_lists_the_corrupt_one(demo: Path) -> None:
    predictions = pd.read_parquet(demo / RESULTS / "inference/predictions.parquet")
    rejected = pd.read_csv(demo / RESULTS / "inference/rejected_images.csv")
    counts = pd.read_csv(demo / RESULTS / "inference/class_counts.csv").set_index("sample")
    listing = pd.read_csv(demo / RESULTS / "inference/listing.csv")
    assert len(rejected) == 1 and rejected.loc[0, "path"].endswith("corrupt_0000.png")
    assert len(predictions) == len(listing) - 1 and predictions["path"].is_unique
    assert np.allclose(predictions[[f"p_{c}" for c in CLASSES]].sum(axis=1), 1, atol=1e-4)
    assert counts.to_numpy().sum() == len(predictions)
    assert counts.sum(axis=1).to_dict() == predictions.groupby("sample").size().to_dict()
    shards = sorted((demo / RESULTS / "inference/shards").glob("*.parquet"))
    assert len(shards) >= 2 and len(pd.read_parquet(shards[0]).loc[0, "embedding"]) == 64


def test_report_has_the_particles_figures_and_tables(demo: Path) -> None:
    with zipfile.ZipFile(demo / "results" / "report.zip") as report:
        names = report.namelist()
    for name in ["learning_curves.png", "confusion_matrix.png", "umap.png", "test_metrics.csv", "class_counts.csv"]:
        assert any(n.endswith(name) for n in names), name


def test_after_a_crash_only_the_missing_shard_is_recomputed(demo: Path) -> None:
    # A crash while the shards ran: one shard and the gathered table are missing, the other shards are done.
    shard = demo / RESULTS / "inference/shards/00001.parquet"
    done = demo / RESULTS / "inference/shards/00000.parquet"
    done_mtime = done.stat().st_mtime_ns
    shard.unlink()
    (demo / RESULTS / "inference/predictions.parquet").unlink()
    dry = run_snakemake(demo, "-n", "particles")
    assert dry.stdout.count("rule particles_infer_shard:") == 1 and "particles_train" not in dry.stdout
    assert "output: results/particles/inference/shards/00001.parquet" in dry.stdout
    assert "output: results/particles/inference/shards/00000.parquet" not in dry.stdout
    run_snakemake(demo, "--cores", "2", "particles")
    assert shard.is_file() and done.stat().st_mtime_ns == done_mtime
    again = run_snakemake(demo, "-n", "particles")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_the_seven_real_flowcam_images_pass_through_inference(demo: Path, mirror: Path, tmp_path: Path) -> None:
    registry = load_registry(demo / "resources/remote_files.yaml")
    examples = [name for name in registry if name.startswith("particles/train_examples/")]
    assert len(examples) == 7
    paths = [fetch(registry[name], tmp_path / Path(name).name, mirror=str(mirror)) for name in examples]
    assert sorted(class_of(p) for p in paths) == sorted(CLASSES)
    images = pd.DataFrame({"path": [str(p) for p in paths], "sample": "examples"})
    table, rejected = classify_images(demo / RESULTS / "models/full.pt", images, torch.device("cpu"), 8, 1, True)
    assert rejected.empty and list(table["path"]) == list(images["path"])
    assert set(table["prediction"]) <= set(CLASSES)
    assert np.allclose(table[[f"p_{c}" for c in CLASSES]].sum(axis=1), 1, atol=1e-4)
    assert all(np.isfinite(v).all() and len(v) == 64 for v in table["embedding"])
