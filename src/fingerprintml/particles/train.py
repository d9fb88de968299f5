"""Training with class-weighted cross-entropy, AdamW, a cosine or step schedule and per-epoch checkpoints.

The checkpoint holds everything the next epoch depends on (weights, optimiser, schedule, AMP scaler, the
random streams of shuffling, augmentation and dropout, the history and the best weights so far), so a run
killed after epoch k and started again continues at epoch k + 1 and ends with the weights of an
uninterrupted run (on the same device and thread count).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from fingerprintml.download import sha256_of
from fingerprintml.io import atomic_path
from fingerprintml.particles.data import Arrays, MetadataScaler, augment, class_weights, load_arrays, to_tensor
from fingerprintml.particles.model import ParticleNet, build_model, load_initial_weights
from fingerprintml.particles.schema import CLASSES
from fingerprintml.torch_runtime import HISTORY_COLUMNS, seed_torch

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainSettings:
    """What a training run depends on besides its data: network shape, budget, optimiser, schedule, batch size, the
    seed of its random streams and the optional weights file it starts from."""

    width: int
    use_metadata: bool
    epochs: int
    learning_rate: float
    weight_decay: float
    schedule: str
    step_size: int
    gamma: float
    batch_size: int
    seed: int = 0
    initial_weights: str | None = None

    @classmethod
    def from_config(
        cls,
        training: Mapping,
        *,
        width: int,
        use_metadata: bool,
        device: torch.device,
        seed: int,
        initial_weights: str | None = None,
    ) -> TrainSettings:
        """The settings of ``particles.training`` merged with the dataset block's ``training`` (epochs,
        learning_rate); the batch size of ``device``'s type (``batch_size.cuda`` on CUDA, else ``.cpu``)."""
        return cls(
            seed=int(seed),
            initial_weights=initial_weights,
            width=int(width),
            use_metadata=bool(use_metadata),
            epochs=int(training["epochs"]),
            learning_rate=float(training["learning_rate"]),
            weight_decay=float(training["weight_decay"]),
            schedule=str(training["schedule"]),
            step_size=int(training["step_size"]),
            gamma=float(training["gamma"]),
            batch_size=int(training["batch_size"]["cuda" if device.type == "cuda" else "cpu"]),
        )


def _schedule(optimizer: torch.optim.Optimizer, settings: TrainSettings) -> torch.optim.lr_scheduler.LRScheduler:
    if settings.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs)
    return torch.optim.lr_scheduler.StepLR(optimizer, step_size=settings.step_size, gamma=settings.gamma)


def predict(model: ParticleNet, arrays: Arrays, device: torch.device, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Class probabilities and 64-d embeddings of ``arrays`` in evaluation mode."""
    model.eval()
    probabilities, embeddings = [], []
    with torch.no_grad():
        for start in range(0, len(arrays.labels), batch_size):
            images = to_tensor(arrays.images[start : start + batch_size]).to(device)
            metadata = torch.from_numpy(arrays.metadata[start : start + batch_size]).to(device)
            with torch.autocast(device.type, enabled=device.type == "cuda"):
                logits, embedding = model(images, metadata)
            probabilities.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
            embeddings.append(embedding.float().cpu().numpy())
    n_classes = model.classifier[-1].out_features
    if not probabilities:
        return np.zeros((0, n_classes)), np.zeros((0, model.image.fc.out_features))
    return np.concatenate(probabilities), np.concatenate(embeddings)


def train_model(
    train: Arrays,
    val: Arrays,
    settings: TrainSettings,
    *,
    n_classes: int,
    checkpoint: str | os.PathLike[str],
    device: torch.device,
    stop_after_epoch: int | None = None,
) -> tuple[ParticleNet, pd.DataFrame]:
    """Train (or resume from ``checkpoint``) for ``settings.epochs`` epochs; return the best-validation model and
    the history (:data:`HISTORY_COLUMNS`).

    ``stop_after_epoch`` ends the call after that epoch's checkpoint, as a crash would (used by the tests).
    """
    generator = seed_torch(settings.seed, "particles-train")
    model = build_model(asdict(settings), train.metadata.shape[1], n_classes).to(device)
    if initial_weights := settings.initial_weights:
        state = torch.load(initial_weights, map_location=device, weights_only=True)
        fresh = load_initial_weights(model, state.get("model", state), str(initial_weights))
        log.info("initial weights %s loaded; left at initialisation: %s", initial_weights, ", ".join(fresh) or "none")
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    scheduler = _schedule(optimizer, settings)
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler(device.type, enabled=use_amp)
    weights = torch.tensor(class_weights(train.labels, n_classes), dtype=torch.float32, device=device)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    batch_size = settings.batch_size
    history: list[dict] = []
    best = {"accuracy": -1.0, "state": None}
    first_epoch = 1
    checkpoint = Path(checkpoint)
    if checkpoint.is_file():
        saved = torch.load(checkpoint, map_location=device, weights_only=False)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        scaler.load_state_dict(saved["scaler"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        history, best, first_epoch = saved["history"], saved["best"], saved["epoch"] + 1
        log.info("resumed from %s after epoch %d", checkpoint, saved["epoch"])
    labels = torch.from_numpy(train.labels).long()
    for epoch in range(first_epoch, settings.epochs + 1):
        model.train()
        order = torch.randperm(len(labels), generator=generator)
        total_loss, correct = 0.0, 0
        for start in range(0, len(order), batch_size):
            index = order[start : start + batch_size]
            if len(index) < 2:  # batch norm needs two samples
                continue
            images = augment(to_tensor(train.images[index.numpy()]), generator).to(device)
            metadata = torch.from_numpy(train.metadata[index.numpy()]).to(device)
            target = labels[index].to(device)
            with torch.autocast(device.type, enabled=use_amp):
                logits, _ = model(images, metadata)
                loss = loss_fn(logits.float(), target)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            total_loss += float(loss.detach()) * len(index)
            correct += int((logits.argmax(1) == target).sum())
        learning_rate = optimizer.param_groups[0]["lr"]
        scheduler.step()
        probabilities, _ = predict(model, val, device, batch_size)
        val_loss = float(
            nn.functional.cross_entropy(
                torch.log(torch.from_numpy(probabilities).clamp_min(1e-12)), torch.from_numpy(val.labels).long()
            )
        )
        val_accuracy = float((probabilities.argmax(1) == val.labels).mean())
        history.append(
            {
                "epoch": epoch,
                "learning_rate": learning_rate,
                "train_loss": total_loss / len(labels),
                "train_accuracy": correct / len(labels),
                "val_loss": val_loss,
                "val_accuracy": val_accuracy,
            }
        )
        log.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in history[-1].items()})
        if val_accuracy > best["accuracy"]:
            best = {
                "accuracy": val_accuracy,
                "epoch": epoch,
                "state": {k: v.cpu().clone() for k, v in model.state_dict().items()},
            }
        with atomic_path(checkpoint) as tmp:
            torch.save(
                {
                    "epoch": epoch,
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "generator": generator.get_state(),
                    "torch_rng": torch.get_rng_state(),
                    "history": history,
                    "best": best,
                },
                tmp,
            )
        if stop_after_epoch is not None and epoch >= stop_after_epoch:
            break
    if best["state"] is not None:
        model.load_state_dict(best["state"])
        log.info("best validation accuracy %.4f at epoch %d", best["accuracy"], best["epoch"])
    return model, pd.DataFrame(history, columns=HISTORY_COLUMNS)


def checkpoint_path(folder: str | os.PathLike[str], settings: TrainSettings, arrays: str | os.PathLike[str]) -> Path:
    """The run's checkpoint file in ``folder``, named by a hash of its settings (seed and initial weights included)
    and of its data.

    The checkpoint outlives a crashed job (it is no rule output, which Snakemake would delete before a rerun); its
    name keys it to what the run depends on, so a changed config or data starts afresh.
    """
    fingerprint = json.dumps([asdict(settings), sha256_of(arrays)], sort_keys=True)
    return Path(folder) / f"checkpoint-{hashlib.sha256(fingerprint.encode()).hexdigest()[:12]}.pt"


def train_from_arrays(
    arrays: str | os.PathLike[str],
    settings: TrainSettings,
    checkpoint_dir: str | os.PathLike[str],
    device: torch.device,
    n_classes: int = len(CLASSES),
) -> tuple[ParticleNet, pd.DataFrame]:
    """Train a classifier of ``n_classes`` classes (the labels' range: the dataset's classes) on the train and
    validation parts of the preprocessed ``arrays`` (see :func:`train_model`), resuming from the run's checkpoint in
    ``checkpoint_dir`` when there is one."""
    data = load_arrays(arrays, ("train", "val"))
    checkpoint = checkpoint_path(checkpoint_dir, settings, arrays)
    log.info(
        "device %s, %d training / %d validation images, checkpoint %s",
        device,
        len(data["train"].labels),
        len(data["val"].labels),
        checkpoint,
    )
    return train_model(
        data["train"],
        data["val"],
        settings,
        n_classes=n_classes,
        checkpoint=checkpoint,
        device=device,
    )


def save_model(
    model: ParticleNet,
    path: str | os.PathLike[str],
    classes: list[str],
    scaler: MetadataScaler,
    size: int,
    *,
    metadata: Mapping[str, Any],
) -> None:
    """The trained weights with what inference needs: network shape, input size, label map, metadata scaler and the
    metadata source (``metadata``: ``source`` of :data:`~fingerprintml.particles.shards.METADATA_SOURCES`,
    ``columns``, ``microns_per_pixel`` for pixel-derived columns, ``table``: the table's name for ``table``)."""
    missing = {"source", "columns", "microns_per_pixel", "table"} - set(metadata)
    if missing:
        raise ValueError(f"{path}: the model's metadata record lacks {sorted(missing)}")
    bundle = {
        "model": {k: v.cpu() for k, v in model.state_dict().items()},
        "settings": {"width": int(model.width), "use_metadata": bool(model.use_metadata)},
        "size": int(size),
        "classes": list(classes),
        "scaler": scaler.state(),
        "metadata": dict(metadata),
    }
    with atomic_path(path) as tmp:
        torch.save(bundle, tmp)


def load_model(path: str | os.PathLike[str], device: torch.device) -> tuple[ParticleNet, dict]:
    """A saved model in evaluation mode and its bundle (settings, size, classes, scaler, metadata source); a model
    saved without its metadata source is an error (retrain it)."""
    bundle = torch.load(path, map_location=device, weights_only=True)
    if "metadata" not in bundle:
        raise ValueError(
            f"{path}: the model does not record its metadata source (saved by an older version); retrain it"
        )
    model = build_model(bundle["settings"], len(bundle["scaler"]["mean"]), len(bundle["classes"])).to(device)
    model.load_state_dict(bundle["model"])
    model.eval()
    return model, bundle
