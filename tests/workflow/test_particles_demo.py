"""Particles demo end to end: metrics, ablation, figures, report, sharded inference, and the real FlowCam images."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from sklearn.metrics import f1_score, recall_score

from fingerprintml.download import fetch, load_registry, sha256_of
from fingerprintml.particles.inference import classify_images
from fingerprintml.particles.schema import CLASSES, class_of
from tests.conftest import run_snakemake

pytestmark = pytest.mark.workflow

RESULTS = Path("results/particles/demo")


@pytest.fixture(scope="module")
def demo(demo_workspace: Path) -> Path:
    return demo_workspace


def demo_block(workspace: Path) -> dict:
    return yaml.safe_load((workspace / "config.yaml").read_text())["particles"]["datasets"]["demo"]


def test_results_stay_in_the_dataset_folder_and_provenance_holds_its_block(demo: Path) -> None:
    assert sorted(p.name for p in (demo / "results/particles").iterdir()) == ["demo"]
    assert sorted(p.name for p in (demo / "logs/particles").iterdir()) == ["demo"]
    provenance = yaml.safe_load((demo / RESULTS / "provenance.yaml").read_text())["config"]["particles"]
    assert provenance["dataset"] == "demo" and provenance["datasets"] == {"demo": demo_block(demo)}


def test_summary_metrics_are_those_of_the_test_predictions(demo: Path) -> None:
    metrics = pd.read_csv(demo / RESULTS / "test_metrics.csv").set_index("run")
    per_class = pd.read_csv(demo / RESULTS / "per_class_metrics.csv")
    split = pd.read_csv(demo / RESULTS / "data/split.csv")
    for run in ("full", "image_only"):
        predictions = pd.read_csv(demo / RESULTS / f"evaluation/{run}/test_predictions.csv")
        assert sorted(predictions["path"]) == sorted(split.loc[split["split"] == "test", "path"])
        truth, predicted = predictions["class"], predictions["prediction"]
        assert metrics.loc[run, "accuracy"] == pytest.approx((truth == predicted).mean(), abs=1e-6)
        assert metrics.loc[run, "macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"), abs=1e-5)
        recalls = recall_score(truth, predicted, labels=CLASSES, average=None)
        assert metrics.loc[run, "min_recall"] == pytest.approx(recalls.min(), abs=1e-5)
        rows = per_class[per_class["run"] == run].set_index("class").loc[CLASSES]
        assert rows["recall"].to_numpy() == pytest.approx(recalls, abs=1e-5)
        assert (rows["support"] == demo_block(demo)["split"]["test_per_class"]).all()
    umap = pd.read_csv(demo / RESULTS / "umap_test.csv")
    full = pd.read_csv(demo / RESULTS / "evaluation/full/test_predictions.csv")
    assert list(umap["path"]) == list(full["path"]) and np.isfinite(umap[["umap_1", "umap_2"]].to_numpy()).all()
    assert len(np.load(demo / RESULTS / "evaluation/full/test_embeddings.npy")) == len(full)


def test_demo_accuracy_target_and_metadata_branch_adds_accuracy(demo: Path) -> None:
    metrics = pd.read_csv(demo / RESULTS / "test_metrics.csv").set_index("run")
    assert (metrics["test_images"] == demo_block(demo)["split"]["test_per_class"] * len(CLASSES)).all()
    assert metrics.loc["full", "accuracy"] >= 0.95
    assert metrics.loc["full", "accuracy"] > metrics.loc["image_only", "accuracy"]
    confusion = pd.read_csv(demo / RESULTS / "confusion_matrix.csv").set_index("true")
    assert np.trace(confusion[CLASSES].loc[CLASSES].to_numpy()) / confusion.to_numpy().sum() == pytest.approx(
        metrics.loc["full", "accuracy"]
    )


def test_metadata_gradient_boosting_is_a_run_of_the_same_tables(demo: Path) -> None:
    metrics = pd.read_csv(demo / RESULTS / "test_metrics.csv").set_index("run")
    per_class = pd.read_csv(demo / RESULTS / "per_class_metrics.csv")
    full = pd.read_csv(demo / RESULTS / "evaluation/full/test_predictions.csv")
    gbm = pd.read_csv(demo / RESULTS / "evaluation/gbm_metadata/test_predictions.csv")
    assert list(metrics.index) == ["full", "image_only", "gbm_metadata", "fusion"]
    assert list(gbm["path"]) == list(full["path"]) and list(gbm.columns) == list(full.columns)
    truth, predicted = gbm["class"], gbm["prediction"]
    assert metrics.loc["gbm_metadata", "accuracy"] == pytest.approx((truth == predicted).mean(), abs=1e-6)
    assert metrics.loc["gbm_metadata", "macro_f1"] == pytest.approx(
        f1_score(truth, predicted, average="macro"), abs=1e-5
    )
    rows = per_class[per_class["run"] == "gbm_metadata"].set_index("class").loc[CLASSES]
    assert rows["recall"].to_numpy() == pytest.approx(recall_score(truth, predicted, labels=CLASSES, average=None))
    # The demo's metadata is computed from the pixels and separates most classes alone.
    assert metrics.loc["gbm_metadata", "accuracy"] > 0.8
    # The late fusion of the image-only network and the boosting, on the same test images.
    fusion = pd.read_csv(demo / RESULTS / "evaluation/fusion/test_predictions.csv")
    weights = pd.read_csv(demo / RESULTS / "evaluation/fusion/weights.csv").set_index("classifier")["weight"]
    assert list(fusion["path"]) == list(full["path"]) and (weights >= 0).all()
    assert metrics.loc["fusion", "accuracy"] == pytest.approx((fusion["class"] == fusion["prediction"]).mean())


def test_calibration_is_measured_per_run_on_the_test_predictions(demo: Path) -> None:
    calibration = pd.read_csv(demo / RESULTS / "calibration.csv").set_index("run")
    bins = pd.read_csv(demo / RESULTS / "reliability.csv")
    metrics = pd.read_csv(demo / RESULTS / "test_metrics.csv").set_index("run")
    assert list(calibration.index) == list(metrics.index)
    assert calibration["accuracy"].to_numpy() == pytest.approx(metrics["accuracy"].to_numpy(), abs=1e-6)
    for run in calibration.index:
        validation = pd.read_csv(demo / RESULTS / f"evaluation/{run}/val_predictions.csv")
        assert (
            len(validation)
            == calibration.loc[run, "val_images"]
            == demo_block(demo)["split"]["val_per_class"] * len(CLASSES)
        )
        before = bins[(bins["run"] == run) & (bins["stage"] == "before")].fillna(0)
        assert before["count"].sum() == calibration.loc[run, "test_images"]
        # The ECE is the count-weighted gap of the bins.
        gap = (before["count"] * (before["accuracy"] - before["confidence"]).abs()).sum() / before["count"].sum()
        assert gap == pytest.approx(calibration.loc[run, "ece_before"], abs=1e-5)
    # Temperature scaling fitted on validation lowers the networks' test log-loss.
    assert (
        calibration.loc[["full", "image_only"], "nll_after"] < calibration.loc[["full", "image_only"], "nll_before"]
    ).all()


def test_session_abundances_hold_the_counts_and_the_truth(demo: Path) -> None:
    every_run = pd.read_csv(demo / RESULTS / "abundances_test.csv")
    metrics = pd.read_csv(demo / RESULTS / "test_metrics.csv")
    assert list(every_run["run"].unique()) == list(metrics["run"])
    table = every_run[every_run["run"] == "full"]
    full = pd.read_csv(demo / RESULTS / "evaluation/full/test_predictions.csv")
    split = pd.read_csv(demo / RESULTS / "data/split.csv").set_index("path")
    full["session"] = full["path"].map(split["session"])
    assert sorted(table["sample"].unique()) == sorted(full["session"].unique())
    for session, rows in full.groupby("session"):
        mine = table[table["sample"] == session].set_index("class").loc[CLASSES]
        assert (mine["n"] == len(rows)).all()
        raw = rows["prediction"].value_counts(normalize=True).reindex(CLASSES, fill_value=0)
        true = rows["class"].value_counts(normalize=True).reindex(CLASSES, fill_value=0)
        assert mine["raw_fraction"].to_numpy() == pytest.approx(raw.to_numpy(), abs=1e-5)
        assert mine["true_fraction"].to_numpy() == pytest.approx(true.to_numpy(), abs=1e-5)
        assert mine["em_fraction"].sum() == pytest.approx(1, abs=1e-4)
    assert ((table["ci_low"] <= table["em_fraction"] + 1e-9) & (table["em_fraction"] <= table["ci_high"] + 1e-9)).all()
    # Each demo session holds one class; the EM moves its fraction towards 1 from the argmax count.
    mine = table[table["true_fraction"] == 1]
    assert (mine["em_fraction"] >= mine["raw_fraction"] - 1e-6).all()
    assert (mine["em_fraction"] - mine["true_fraction"]).abs().mean() < (
        mine["raw_fraction"] - mine["true_fraction"]
    ).abs().mean() + 1e-9


def test_inference_abundances_and_novelty_follow_the_predictions(demo: Path) -> None:
    predictions = pd.read_parquet(demo / RESULTS / "inference/predictions.parquet")
    counts = pd.read_csv(demo / RESULTS / "inference/class_counts.csv").set_index("sample")
    table = pd.read_csv(demo / RESULTS / "inference/abundances.csv")
    raw = table.pivot(index="sample", columns="class", values="raw_fraction").loc[counts.index, CLASSES]
    assert raw.to_numpy() == pytest.approx((counts / counts.sum(axis=1).to_numpy()[:, None]).to_numpy(), abs=1e-5)
    assert table["true_fraction"].isna().all() and table.groupby("sample")["em_fraction"].sum().to_numpy() == (
        pytest.approx(1, abs=1e-4)
    )
    test_scores = pd.read_csv(demo / RESULTS / "novelty/test_scores.csv")
    summary = pd.read_csv(demo / RESULTS / "novelty.csv", keep_default_na=False)
    test = summary[summary["part"] == "test"].set_index("class").loc[CLASSES]
    assert test["flagged"].to_numpy().tolist() == test_scores.groupby("class")["novel"].sum().loc[CLASSES].tolist()
    # The threshold is the validation quantile: at most 1 % + one particle of the validation set above it.
    validation = summary[summary["part"] == "validation"]
    assert validation["flagged"].sum() <= 0.01 * validation["n"].sum() + 1
    samples = pd.read_csv(demo / RESULTS / "inference/novelty.csv", keep_default_na=False).set_index("sample")
    assert samples["flagged"].to_dict() == predictions.groupby("sample")["novel"].sum().to_dict()
    assert (
        predictions["novel"] == (predictions["novelty"] > np.load(demo / RESULTS / "novelty/detector.npz")["threshold"])
    ).all()


def test_training_history_has_every_epoch_of_both_runs(demo: Path) -> None:
    history = pd.read_csv(demo / RESULTS / "training_history.csv")
    epochs = demo_block(demo)["training"]["epochs"]
    assert history.groupby("run")["epoch"].apply(list).to_dict() == {
        r: list(range(1, epochs + 1)) for r in ("full", "image_only")
    }


def test_sharded_inference_classifies_every_readable_image_and_lists_the_corrupt_one(demo: Path) -> None:
    predictions = pd.read_parquet(demo / RESULTS / "inference/predictions.parquet")
    unlabelled = pd.read_csv(demo / RESULTS / "data/unlabelled.csv")
    rejected = pd.read_csv(demo / RESULTS / "inference/rejected_images.csv")
    counts = pd.read_csv(demo / RESULTS / "inference/class_counts.csv").set_index("sample")
    listing = pd.read_csv(demo / RESULTS / "inference/listing.csv")
    assert len(rejected) == 1 and rejected.loc[0, "path"].endswith("corrupt_0000.png")
    assert len(predictions) == len(listing) - 1 and predictions["path"].is_unique
    assert np.allclose(predictions[[f"p_{c}" for c in CLASSES]].sum(axis=1), 1, atol=1e-4)
    assert counts.to_numpy().sum() == len(predictions)
    assert counts.sum(axis=1).to_dict() == predictions.groupby("sample").size().to_dict()
    shards = sorted((demo / RESULTS / "inference/shards").glob("*.parquet"))
    per_shard = demo_block(demo)["inference"]["per_shard"]
    assert [s.stem for s in shards] == [f"{i:05d}" for i in range(-(-len(unlabelled) // per_shard))]
    assert len(shards) >= 2 and len(pd.read_parquet(shards[0]).loc[0, "embedding"]) == 64


def test_report_has_the_particles_figures_and_tables(demo: Path) -> None:
    with zipfile.ZipFile(demo / "results" / "report.zip") as report:
        names = report.namelist()
    for name in [
        "learning_curves.png",
        "confusion_matrix.png",
        "umap.png",
        "reliability.png",
        "test_metrics.csv",
        "calibration.csv",
        "abundances_test.csv",
        "novelty.csv",
        "class_counts.csv",
        "abundances.csv",
    ]:
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
    assert f"output: {RESULTS}/inference/shards/00001.parquet" in dry.stdout
    assert f"output: {RESULTS}/inference/shards/00000.parquet" not in dry.stdout
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
    table, rejected = classify_images(
        demo / RESULTS / "models/full.pt", images, torch.device("cpu"), batch_size=8, workers=1, embeddings=True
    )
    assert rejected.empty and list(table["path"]) == list(images["path"])
    assert set(table["prediction"]) <= set(CLASSES)
    assert np.allclose(table[[f"p_{c}" for c in CLASSES]].sum(axis=1), 1, atol=1e-4)
    assert all(np.isfinite(v).all() and len(v) == 64 for v in table["embedding"])


def test_your_images_are_classified_with_the_demo_model_into_its_user_folder(demo_copy: Path, tmp_path: Path) -> None:
    images = tmp_path / "mine"
    unlabelled = pd.read_csv(demo_copy / RESULTS / "data/unlabelled.csv")
    for path in unlabelled["path"].iloc[:5]:
        source = demo_copy / path
        (images / "core_a").mkdir(parents=True, exist_ok=True)
        (images / "core_a" / source.name).write_bytes(source.read_bytes())
    (images / "core_b").mkdir()
    (images / "core_b" / "broken.png").write_bytes(b"not an image")
    model = (demo_copy / RESULTS / "models/full.pt").stat().st_mtime_ns
    before = (demo_copy / RESULTS / "inference/predictions.parquet").read_bytes()
    settings = f'particles={{"inference": {{"images": "{images}"}}}}'
    run_snakemake(demo_copy, "--cores", "2", "particles", "--config", settings)
    user = demo_copy / RESULTS / "user"
    predictions = pd.read_parquet(user / "predictions.parquet")
    assert sorted(Path(p).name for p in predictions["path"]) == sorted(Path(p).name for p in unlabelled["path"][:5])
    assert set(predictions["sample"]) == {"core_a"}
    assert list(pd.read_csv(user / "rejected_images.csv")["path"]) == [str(images / "core_b" / "broken.png")]
    # The demo's model classified them, the demo's own inference is untouched.
    assert (demo_copy / RESULTS / "models/full.pt").stat().st_mtime_ns == model
    assert (demo_copy / RESULTS / "inference/predictions.parquet").read_bytes() == before
    demo_predictions = pd.read_parquet(demo_copy / RESULTS / "inference/predictions.parquet").set_index("path")
    for _, row in predictions.iterrows():
        same = unlabelled.loc[unlabelled["path"].str.endswith("/" + Path(row["path"]).name), "path"].iloc[0]
        assert row["prediction"] == demo_predictions.loc[same, "prediction"]


def test_paper_archive_plans_beside_the_demo_once_declared(workspace: Path, tmp_path: Path) -> None:
    both = 'particles={"dataset": ["demo", "paper"]}'
    dry = run_snakemake(workspace, "-n", "particles", "--config", both, check=False)
    message = dry.stdout + dry.stderr
    assert dry.returncode != 0 and "archive 'particles/datasets.zip' is not declared" in message
    # Declared (here: a stand-in archive of your own, by a file:// URL), the paper dataset plans in the same DAG.
    archive = tmp_path / "icelearning.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("ICELEARNING/datasets/camp.csv", "imgpaths\n")
    with (workspace / "resources/remote_files.yaml").open("a") as registry:
        registry.write(f"particles/datasets.zip:\n  url: file://{archive}\n  sha256: {sha256_of(archive)}\n")
    dry = run_snakemake(workspace, "-n", "particles", "--config", both)
    for dataset in ("demo", "paper"):
        assert f"results/particles/{dataset}/data/labelled.csv" in dry.stdout
        assert f"results/particles/{dataset}/provenance.yaml" in dry.stdout
    assert "output: resources/downloads/particles/datasets.zip" in dry.stdout
    assert "rule particles_download" not in dry.stdout
