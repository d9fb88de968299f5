"""Where and how torch runs: device choice from config and seeding, shared by every study that uses torch."""

from __future__ import annotations

import torch

from fingerprintml.seeds import seed_for

# Columns of a training history, one row per epoch, the same for every study that trains a network: the epoch, the
# learning rate at its start, loss and top-1 accuracy on the training and on the validation set.
HISTORY_COLUMNS = ["epoch", "learning_rate", "train_loss", "train_accuracy", "val_loss", "val_accuracy"]


def select_device(requested: str, key: str) -> torch.device:
    """The device of a ``device`` setting: ``auto`` (CUDA when torch sees one, else CPU), ``cpu`` or ``cuda``
    (``cuda:1``: the second GPU).

    Parameters
    ----------
    requested
        The setting's value.
    key
        The config key it came from (e.g. ``xrd.device``), named in the error when ``cuda`` is asked for and
        torch sees no CUDA device.
    """
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError as error:
        raise ValueError(f"config {key} is {requested!r}: expected auto, cpu, cuda or cuda:<index>") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"config {key} is {requested!r} but torch sees no CUDA device")
    return device


def seed_torch(seed: int, *names: str | int) -> torch.Generator:
    """Seed torch's global generator for the stream ``names`` of the run seeded with ``seed``; return a CPU
    generator of the same stream (for data loaders and samplers).

    Parameters
    ----------
    seed
        The study's config seed.
    names
        What the stream is for (e.g. ``"xrd", "init"``).
    """
    stream = seed_for(seed, *names)
    torch.manual_seed(stream)
    return torch.Generator().manual_seed(stream)
