"""Particles: the network's shapes, checkpoint resume, the saved model bundle and sharded inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

from fingerprintml.io import write_table
from fingerprintml.particles.data import MetadataScaler
from fingerprintml.particles.inference import classify_images, gather, write_parquet
from fingerprintml.particles.model import ParticleNet
from fingerprintml.particles.shards import count_listed, shard_names, shard_rows
from fingerprintml.particles.train import Arrays, load_model, predict, save_model, train_model

SETTINGS = {
    "width": 4,
    "use_metadata": True,
    "epochs": 3,
    "learning_rate": 0.01,
    "weight_decay": 1e-4,
    "schedule": "cosine",
    "step_size": 1,
    "gamma": 0.5,
    "batch_size": {"cpu": 16, "cuda": 16},
}


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
    return Arrays(np.clip(images, 0, 255).astype(np.uint8), metadata, labels)


def test_network_outputs_logits_and_64d_embedding() -> None:
    images, metadata = torch.randn(5, 1, 40, 40), torch.randn(5, 34)
    for use_metadata in (True, False):
        model = ParticleNet(34, 7, width=8, use_metadata=use_metadata).eval()
        logits, embedding = model(images, metadata)
        assert logits.shape == (5, 7) and embedding.shape == (5, 64)
    full = ParticleNet(34, 7, width=64)
    assert full.classifier[0].in_features == 96 and full.metadata[0].in_features == 34
    assert sum(isinstance(m, torch.nn.Conv2d) and m.kernel_size == (3, 3) for m in full.modules()) == 16


def test_resume_after_a_crash_ends_with_the_weights_of_an_uninterrupted_run(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    train, val = toy_arrays(48, 1), toy_arrays(16, 2)
    device = torch.device("cpu")
    whole, history = train_model(train, val, SETTINGS, 2, tmp_path / "a.pt", device, seed=5)
    _, partial = train_model(train, val, SETTINGS, 2, tmp_path / "b.pt", device, seed=5, stop_after_epoch=1)
    assert list(partial["epoch"]) == [1]
    resumed, full_history = train_model(train, val, SETTINGS, 2, tmp_path / "b.pt", device, seed=5)
    assert list(full_history["epoch"]) == [1, 2, 3]
    assert full_history.equals(history)
    for key, value in whole.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key


def trained_bundle(tmp_path: Path) -> tuple[Path, Arrays]:
    train, val = toy_arrays(48, 1), toy_arrays(16, 2)
    model, _ = train_model(train, val, SETTINGS, 2, tmp_path / "c.pt", torch.device("cpu"), seed=5)
    scaler = MetadataScaler(np.zeros(34), np.ones(34))
    path = tmp_path / "model.pt"
    save_model(model, path, SETTINGS, ["disc", "square"], scaler, size=24)
    return path, val


def test_saved_model_keeps_label_map_scaler_and_predictions(tmp_path: Path) -> None:
    path, val = trained_bundle(tmp_path)
    model, bundle = load_model(path, torch.device("cpu"))
    assert bundle["classes"] == ["disc", "square"] and bundle["size"] == 24
    assert bundle["scaler"]["scale"] == [1.0] * 34
    probabilities, embeddings = predict(model, val, torch.device("cpu"), batch_size=7)
    assert probabilities.shape == (16, 2) and embeddings.shape == (16, 64)
    assert np.allclose(probabilities.sum(1), 1, atol=1e-5)


def test_shards_cover_the_listing_once(tmp_path: Path) -> None:
    listing = pd.DataFrame({"path": [f"{i}.png" for i in range(23)], "sample": "s"})
    write_table(listing, tmp_path / "listing.csv")
    assert count_listed(tmp_path / "listing.csv") == 23
    names = shard_names(len(listing), 10)
    assert names == ["00000", "00001", "00002"]
    rows = pd.concat([shard_rows(listing, n, 10) for n in names])
    assert list(rows["path"]) == list(listing["path"])


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
    write_parquet(table, tmp_path / "shard.parquet")
    gathered, counts = gather([tmp_path / "shard.parquet"])
    assert "embedding" not in gathered and counts.drop(columns="sample").to_numpy().sum() == 3
