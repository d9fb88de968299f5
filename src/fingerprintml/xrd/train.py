"""Training of the identifier on a pool of augmented patterns; inference helpers."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.nn import functional

from fingerprintml.io import atomic_path
from fingerprintml.seeds import rng_for
from fingerprintml.torch_runtime import HISTORY_COLUMNS, seed_torch
from fingerprintml.xrd.model import Identifier

log = logging.getLogger(__name__)

# The columns every training history of the project shares (particles' and xrd's), in this order.


def _in_batches(
    model: Identifier,
    patterns: np.ndarray,
    device: torch.device,
    batch: int,
    transform: Callable[[Identifier, torch.Tensor], torch.Tensor],
) -> list[np.ndarray]:
    """``transform(model, x)`` of the patterns, batch by batch, in eval mode without gradients."""
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(patterns), batch):
            x = torch.as_tensor(patterns[start : start + batch], device=device)
            out.append(transform(model, x).cpu().numpy())
    return out


def predict_logits(model: Identifier, patterns: np.ndarray, device: torch.device, batch: int = 256) -> np.ndarray:
    """Cosine similarities (N, classes) of patterns to the class weights, in eval mode."""
    out = _in_batches(model, patterns, device, batch, lambda m, x: m.head.cosine(m.backbone(x)))
    return np.concatenate(out) if out else np.zeros((0, model.head.weight.shape[0]))


def embeddings(model: Identifier, patterns: np.ndarray, device: torch.device, batch: int = 256) -> np.ndarray:
    """L2-normalised embeddings (N, D)."""
    return np.concatenate(_in_batches(model, patterns, device, batch, lambda m, x: functional.normalize(m.backbone(x))))


def train_identifier(
    patterns: np.ndarray,
    labels: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray],
    *,
    n_classes: int,
    architecture: dict[str, Any],
    training: dict[str, Any],
    seed: int,
    device: torch.device,
) -> tuple[Identifier, pd.DataFrame]:
    """Train on the augmented pool (``patterns``, ``labels``) for ``training['epochs']`` passes, validating on
    copies from another seed stream after each.

    Returns the model and its per-epoch history, with the columns of every training history of the project
    (:data:`HISTORY_COLUMNS`: epoch, learning rate at the epoch's start, loss and top-1 accuracy on the training
    and validation copies) plus the AdaCos scale and the epoch's seconds."""
    seed_torch(seed, "xrd", "init")
    model = Identifier(n_classes, **architecture).to(device)
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=training["learning_rate"], weight_decay=training["weight_decay"]
    )
    epochs, batch = training["epochs"], training["batch_size"]
    steps = epochs * math.ceil(len(labels) / batch)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, training["learning_rate"], total_steps=steps)
    order_rng = rng_for(seed, "xrd", "batches")
    rows = []
    for epoch in range(1, epochs + 1):
        started = time.perf_counter()
        learning_rate = optimiser.param_groups[0]["lr"]
        order = order_rng.permutation(len(labels))
        model.train()
        loss_sum, correct = 0.0, 0
        for start in range(0, len(order), batch):
            rows_in_batch = order[start : start + batch]
            x = torch.as_tensor(patterns[rows_in_batch], device=device)
            y = torch.as_tensor(labels[rows_in_batch], device=device)
            logits = model(x, y)
            loss = functional.cross_entropy(logits, y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            loss_sum += loss.item() * len(y)
            correct += int((logits.argmax(1) == y).sum())
        cosine = predict_logits(model, validation[0], device)
        val_loss = float(
            functional.cross_entropy(
                float(model.head.scale) * torch.from_numpy(cosine), torch.as_tensor(validation[1]).long()
            )
        )
        val_accuracy = float((cosine.argmax(1) == validation[1]).mean())
        shared = [epoch, learning_rate, loss_sum / len(labels), correct / len(labels), val_loss, val_accuracy]
        rows.append(
            dict(zip(HISTORY_COLUMNS, shared, strict=True))
            | {"adacos_scale": float(model.head.scale), "epoch_s": time.perf_counter() - started}
        )
        log.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in rows[-1].items()})
    return model, pd.DataFrame(rows, columns=[*HISTORY_COLUMNS, "adacos_scale", "epoch_s"])


def save_identifier(
    model: Identifier, architecture: dict[str, Any], classes: np.ndarray, path: str | os.PathLike[str]
) -> None:
    """Write the trained model (weights, architecture, the library indices of its classes) atomically."""
    with atomic_path(path) as tmp:
        torch.save({"state": model.cpu().state_dict(), "architecture": architecture, "classes": classes}, tmp)


def load_identifier(path: str | os.PathLike[str], device: torch.device) -> tuple[Identifier, np.ndarray]:
    """The trained model (eval mode, on ``device``) and the library indices of its classes."""
    saved = torch.load(path, map_location="cpu", weights_only=False)
    model = Identifier(len(saved["classes"]), **saved["architecture"])
    model.load_state_dict(saved["state"])
    return model.to(device).eval(), np.asarray(saved["classes"])
