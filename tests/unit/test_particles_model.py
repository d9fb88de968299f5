"""Particles: the network's shapes, checkpoint resume, the saved model bundle and sharded inference."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from fingerprintml.io import write_table
from fingerprintml.particles.data import Arrays, MetadataScaler, load_image, metadata_record, resize, save_arrays
from fingerprintml.particles.evaluate import evaluate_model, summarise_runs
from fingerprintml.particles.inference import InferenceSettings, classify_images, classify_shard, gather, write_parquet
from fingerprintml.particles.model import ParticleNet
from fingerprintml.particles.schema import METADATA_COLUMNS
from fingerprintml.particles.shape import flowcam_metadata
from fingerprintml.particles.shards import count_listed, shard_rows
from fingerprintml.particles.train import (
    TrainSettings,
    checkpoint_path,
    load_model,
    predict,
    save_model,
    train_from_arrays,
    train_model,
)
from fingerprintml.shards import shard_names
from fingerprintml.torch_runtime import HISTORY_COLUMNS

CONFIG = {
    "epochs": 3,
    "learning_rate": 0.01,
    "weight_decay": 1e-4,
    "schedule": "cosine",
    "step_size": 1,
    "gamma": 0.5,
    "batch_size": {"cpu": 16, "cuda": 512},
}
SETTINGS = TrainSettings.from_config(CONFIG, width=4, use_metadata=True, device=torch.device("cpu"), seed=5)
PIXEL_RECORD = metadata_record("pixels", METADATA_COLUMNS)


def toy_arrays(n: int, seed: int) -> Arrays:
    """Two classes: dark discs and bright squares, with one informative metadata column."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    images = rng.normal(130, 5, (n, 24, 24))
    yy, xx = np.mgrid[:24, :24]
    disc = (yy - 12) ** 2 + (xx - 12) ** 2 < 36
    images[labels == 0] -= 60 * disc
    images[labels == 1, 6:18, 6:18] += 40
    metadata = rng.normal(0, 1, (n, 34)).astype(np.float32)
    metadata[:, 0] += labels
    paths = np.array([f"toy/{i}.png" for i in range(n)])
    return Arrays(np.clip(images, 0, 255).astype(np.uint8), metadata, labels, paths)


def test_network_outputs_logits_and_64d_embedding() -> None:
    images, metadata = torch.randn(5, 1, 40, 40), torch.randn(5, 34)
    for use_metadata in (True, False):
        model = ParticleNet(34, 7, width=8, use_metadata=use_metadata).eval()
        logits, embedding = model(images, metadata)
        assert logits.shape == (5, 7) and embedding.shape == (5, 64)
    full = ParticleNet(34, 7, width=64)
    assert full.classifier[0].in_features == 96 and full.metadata[0].in_features == 34
    assert sum(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3) for m in full.modules()) == 16


def test_settings_take_the_batch_size_of_the_device() -> None:
    assert SETTINGS.batch_size == 16 and SETTINGS.epochs == 3 and SETTINGS.width == 4
    cuda = TrainSettings.from_config(CONFIG, width=4, use_metadata=False, device=torch.device("cuda"), seed=1)
    assert cuda.batch_size == 512 and not cuda.use_metadata and cuda.initial_weights is None
    inference = InferenceSettings.from_config(
        {"batch_size": {"cpu": 8, "cuda": 64}, "workers": 2, "embeddings": False, "max_pixels": 1000},
        per_shard=5,
        device=torch.device("cpu"),
    )
    assert inference == InferenceSettings(per_shard=5, batch_size=8, workers=2, embeddings=False, max_pixels=1000)


def test_resume_after_a_crash_ends_with_the_weights_of_an_uninterrupted_run(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    train, val = toy_arrays(48, 1), toy_arrays(16, 2)
    run = {"n_classes": 2, "device": torch.device("cpu")}
    whole, history = train_model(train, val, SETTINGS, checkpoint=tmp_path / "a.pt", **run)
    assert list(history.columns) == HISTORY_COLUMNS
    _, partial = train_model(train, val, SETTINGS, checkpoint=tmp_path / "b.pt", stop_after_epoch=1, **run)
    assert list(partial["epoch"]) == [1]
    resumed, full_history = train_model(train, val, SETTINGS, checkpoint=tmp_path / "b.pt", **run)
    assert list(full_history["epoch"]) == [1, 2, 3]
    assert full_history.equals(history)
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key
    reseeded = dataclasses.replace(SETTINGS, seed=6)
    _, other_seed = train_model(train, val, reseeded, checkpoint=tmp_path / "c.pt", **run)
    assert not other_seed["train_loss"].equals(history["train_loss"])


def test_training_from_the_arrays_file_resumes_from_a_checkpoint_named_by_its_settings(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    arrays = tmp_path / "arrays.npz"
    save_arrays(arrays, {"train": toy_arrays(48, 1), "val": toy_arrays(16, 2), "test": toy_arrays(8, 3)})
    _, history = train_from_arrays(arrays, SETTINGS, tmp_path / "run", torch.device("cpu"))
    checkpoint = checkpoint_path(tmp_path / "run", SETTINGS, arrays)
    assert sorted((tmp_path / "run").iterdir()) == [checkpoint]
    for changed in ({"seed": 6}, {"epochs": 4}, {"initial_weights": "start.pt"}):
        assert checkpoint != checkpoint_path(tmp_path / "run", dataclasses.replace(SETTINGS, **changed), arrays)
    # A finished run's checkpoint holds every epoch: training again trains nothing and gives the same history.
    _, again = train_from_arrays(arrays, SETTINGS, tmp_path / "run", torch.device("cpu"))
    assert again.equals(history)


def trained_bundle(tmp_path: Path) -> tuple[Path, Arrays]:
    train, val = toy_arrays(48, 1), toy_arrays(16, 2)
    model, _ = train_model(train, val, SETTINGS, n_classes=2, checkpoint=tmp_path / "c.pt", device=torch.device("cpu"))
    scaler = MetadataScaler(np.zeros(34), np.ones(34))
    path = tmp_path / "model.pt"
    save_model(model, path, ["disc", "square"], scaler, size=24, metadata=PIXEL_RECORD)
    return path, val


def test_saved_model_keeps_label_map_scaler_and_predictions(tmp_path: Path) -> None:
    path, val = trained_bundle(tmp_path)
    model, bundle = load_model(path, torch.device("cpu"))
    assert bundle["classes"] == ["disc", "square"] and bundle["size"] == 24
    assert bundle["settings"] == {"width": 4, "use_metadata": True}
    assert bundle["scaler"]["scale"] == [1.0] * 34
    probabilities, embeddings = predict(model, val, torch.device("cpu"), batch_size=7)
    assert probabilities.shape == (16, 2) and embeddings.shape == (16, 64)
    assert np.allclose(probabilities.sum(1), 1, atol=1e-5)


def test_evaluation_of_a_saved_model_matches_its_predictions_and_the_summary_recomputes_them(tmp_path: Path) -> None:
    path, val = trained_bundle(tmp_path)
    evaluation = evaluate_model(path, val, torch.device("cpu"), "full", batch_size=5)
    model, _ = load_model(path, torch.device("cpu"))
    probabilities, embeddings = predict(model, val, torch.device("cpu"), batch_size=16)
    names = np.array(["disc", "square"])
    assert list(evaluation.predictions["path"]) == list(val.paths)
    assert list(evaluation.predictions["class"]) == list(names[val.labels])
    assert list(evaluation.predictions["prediction"]) == list(names[probabilities.argmax(1)])
    assert np.allclose(evaluation.embeddings, embeddings, atol=1e-5) and evaluation.embeddings.dtype == np.float32
    correct = int((probabilities.argmax(1) == val.labels).sum())
    assert int(np.trace(evaluation.confusion[["disc", "square"]].to_numpy())) == correct
    assert list(evaluation.per_class["support"]) == list(np.bincount(val.labels, minlength=2))
    summary, per_class = summarise_runs(["full"], [evaluation.predictions], [evaluation.per_class])
    assert summary.loc[0, "accuracy"] == pytest.approx(correct / len(val.labels))
    assert summary.loc[0, "test_images"] == 16 and len(per_class) == 2
    assert summary.loc[0, "min_recall"] == pytest.approx(evaluation.per_class["recall"].min())


def test_shards_cover_the_listing_once(tmp_path: Path) -> None:
    listing = pd.DataFrame({"path": [f"{i}.png" for i in range(23)], "sample": "s"})
    write_table(listing, tmp_path / "listing.csv")
    assert count_listed(tmp_path / "listing.csv") == 23
    names = shard_names(len(listing), 10)
    assert names == ["00000", "00001", "00002"]
    rows = pd.concat([shard_rows(listing, n, 10) for n in names])
    assert list(rows["path"]) == list(listing["path"])
    assert len(shard_rows(listing, "00002", 10)) == 3
    with pytest.raises(ValueError, match="outside"):
        shard_rows(listing, "00003", 10)


def test_a_corrupt_image_is_listed_and_skipped(tmp_path: Path) -> None:
    path, _ = trained_bundle(tmp_path)
    images = []
    for i, value in enumerate([60, 170, 60]):
        pixels = np.full((30, 30), 130, np.uint8)
        pixels[8:22, 8:22] = value
        images.append(tmp_path / "s1" / f"img_{i}.png")
        images[-1].parent.mkdir(exist_ok=True)
        Image.fromarray(pixels).save(images[-1])
    broken = tmp_path / "s1" / "broken.png"
    broken.write_bytes(b"garbage")
    listing = pd.DataFrame({"path": [str(p) for p in [images[0], broken, images[1], images[2]]], "sample": "s1"})
    table, rejected = classify_images(path, listing, torch.device("cpu"), batch_size=3, workers=1, embeddings=True)
    assert list(table["path"]) == [str(images[0]), str(images[1]), str(images[2])]
    assert list(rejected["path"]) == [str(broken)] and "broken.png" in rejected.loc[0, "reason"]
    assert np.allclose(table[["p_disc", "p_square"]].sum(axis=1), 1, atol=1e-5)
    assert len(table.loc[0, "embedding"]) == 64
    # The same images as two shards of two: the shards' rows together are the whole table.
    settings = InferenceSettings(per_shard=2, batch_size=3, workers=0, embeddings=False)
    shards = [classify_shard(listing, name, path, torch.device("cpu"), settings) for name in ("00000", "00001")]
    for index, (part, skipped) in enumerate(shards):
        write_parquet(part, tmp_path / f"{index}.parquet")
        write_table(skipped, tmp_path / f"{index}_rejected.csv")
    assert "embedding" not in shards[0][0]
    gathered, counts, skipped = gather(
        [tmp_path / "0.parquet", tmp_path / "1.parquet"], [tmp_path / "0_rejected.csv", tmp_path / "1_rejected.csv"]
    )
    assert list(gathered["path"]) == list(table["path"])
    assert np.allclose(gathered[["p_disc", "p_square"]], table[["p_disc", "p_square"]], atol=1e-5)
    assert list(skipped["path"]) == [str(broken)]
    assert counts.drop(columns="sample").to_numpy().sum() == 3


VICKOT_CLASSES = "VickoT/FlowCam_Image_Classifier/5d73e30c05686da464b0bb5f0542c6bcc35311b2/Training/data/classes"


def flowcam_bundle(mirror: Path, tmp_path: Path) -> tuple[Path, list[Path]]:
    """A small model trained on real FlowCam images (VickoT Junk vs Protist: 16 + 16, validation 8 + 8), saved as a
    bundle, and the remaining images of the two classes (never seen in training)."""
    files = {name: sorted((mirror / VICKOT_CLASSES / name).glob("*.png")) for name in ("Junk", "Protist")}

    def arrays(part: slice, scaler: MetadataScaler | None = None) -> tuple[Arrays, MetadataScaler]:
        paths = [path for name in files for path in files[name][part]]
        pixels = [load_image(path) for path in paths]
        metadata = np.array([list(flowcam_metadata(image).values()) for image in pixels])
        scaler = scaler or MetadataScaler.fit(metadata)
        labels = np.repeat(np.arange(len(files)), [len(files[name][part]) for name in files])
        images = np.stack([resize(image, 24) for image in pixels])
        return Arrays(images, scaler.transform(metadata), labels, np.array(paths, dtype=str)), scaler

    train, scaler = arrays(slice(0, 16))
    val, _ = arrays(slice(16, 24), scaler)
    model, _ = train_model(train, val, SETTINGS, n_classes=2, checkpoint=tmp_path / "c.pt", device=torch.device("cpu"))
    save_model(model, tmp_path / "flowcam.pt", list(files), scaler, size=24, metadata=PIXEL_RECORD)
    return tmp_path / "flowcam.pt", [path for name in files for path in files[name][24:]]


def test_the_same_real_particle_in_any_bit_depth_gets_the_same_class_and_an_unreadable_one_a_reject_row(
    tmp_path: Path, mirror: Path
) -> None:
    """A real FlowCam particle the model never saw, as 8-bit PNG, 16-bit TIFF and colour JPEG: the same class and
    probabilities within 0.05 (the 16-bit TIFF read as white flipped it to Protist with p = 1.000); a corrupt file
    and an image over ``max_pixels`` in the same batch are rows of the rejected table, with reasons."""
    path, unseen = flowcam_bundle(mirror, tmp_path)
    pixels = np.asarray(
        Image.open(next(p for p in unseen if p.name.endswith("1ACDAB9E-C1C2-49B4-A9A6-F127E1CAF05B.png"))).convert("L")
    )
    sample = tmp_path / "sample"
    sample.mkdir()
    Image.fromarray(pixels).save(sample / "eight.png")
    Image.fromarray(pixels.astype(np.uint16) * 257).save(sample / "sixteen.tif")
    Image.fromarray(np.stack([pixels] * 3, axis=-1)).save(sample / "colour.jpg", quality=95)
    (sample / "corrupt.tif").write_bytes(b"not an image")
    Image.fromarray(np.full((400, 400), 130, np.uint8)).save(sample / "large.png")
    listing = pd.DataFrame(
        {"path": [str(sample / n) for n in ("eight.png", "corrupt.tif", "sixteen.tif", "large.png", "colour.jpg")]}
    ).assign(sample="sample")
    table, rejected = classify_images(
        path, listing, torch.device("cpu"), batch_size=2, workers=0, embeddings=False, max_pixels=100_000
    )
    assert list(table["path"]) == [str(sample / n) for n in ("eight.png", "sixteen.tif", "colour.jpg")]
    assert 0.05 < table.loc[0, "p_Protist"] < 0.95  # a model that is not saturated on this particle
    assert table["prediction"].nunique() == 1
    assert np.abs(table["p_Protist"] - table.loc[0, "p_Protist"]).max() < 0.05
    assert list(rejected["path"]) == [str(sample / "corrupt.tif"), str(sample / "large.png")]
    assert "corrupt.tif: cannot read image" in rejected.loc[0, "reason"]
    assert "large.png: image of 400 x 400 pixels is over the limit of 100000 pixels" in rejected.loc[1, "reason"]
