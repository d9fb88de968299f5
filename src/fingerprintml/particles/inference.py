"""Sharded inference on unlabelled images: a DataLoader with workers per shard, Parquet out, bad images listed."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader

from fingerprintml.io import atomic_path, read_table
from fingerprintml.logs import progress
from fingerprintml.particles.data import MAX_PIXELS, MetadataScaler, UnlabelledImages
from fingerprintml.particles.shape import MICRONS_PER_PIXEL
from fingerprintml.particles.shards import shard_rows
from fingerprintml.particles.train import load_model
from fingerprintml.particles.trust import NoveltyDetector

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InferenceSettings:
    """How a shard is classified: images per shard, batch size, loader workers, whether embeddings are kept, and the
    largest image (pixels) read."""

    per_shard: int
    batch_size: int
    workers: int
    embeddings: bool
    max_pixels: int = MAX_PIXELS

    @classmethod
    def from_config(cls, inference: Mapping, *, per_shard: int, device: torch.device) -> InferenceSettings:
        """From ``particles.inference`` (the batch size of ``device``'s type) and the dataset's ``per_shard``."""
        return cls(
            per_shard=int(per_shard),
            batch_size=int(inference["batch_size"]["cuda" if device.type == "cuda" else "cpu"]),
            workers=int(inference["workers"]),
            embeddings=bool(inference["embeddings"]),
            max_pixels=int(inference["max_pixels"]),
        )


class MetadataSourceError(ValueError):
    """A model whose metadata the images to classify cannot supply; the message names the model and the table."""


def check_metadata_source(model_path: str | os.PathLike[str], bundle: Mapping) -> None:
    """Refuse a model trained on a metadata table (FlowCam's columns) for images classified without that table: the
    pixel-derived columns are different inputs (docs/particles.md), so its predictions would be silently wrong.

    Parameters
    ----------
    model_path
        The saved model, named in the message.
    bundle
        Its bundle (:func:`fingerprintml.particles.train.load_model`).
    """
    record = bundle["metadata"]
    if bundle["settings"]["use_metadata"] and record["source"] == "table":
        raise MetadataSourceError(
            f"{model_path}: this model was trained on the metadata table {record['table']} ({len(record['columns'])} "
            "FlowCam columns), which the images to classify do not have; pixel-derived metadata do not stand in for "
            "FlowCam's (docs/particles.md). Set particles.inference.model: image_only to classify them with the "
            "dataset's image-only model, or train a dataset with metadata: pixels"
        )


def classify_images(
    model_path: str | os.PathLike[str],
    images: pd.DataFrame,
    device: torch.device,
    *,
    batch_size: int,
    workers: int,
    embeddings: bool,
    max_pixels: int = MAX_PIXELS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Probabilities, prediction (and optionally the 64-d embedding) of each readable image; rejected images.

    ``images`` has columns ``path`` and ``sample``. The metadata of each image is computed from its pixels (the
    model's columns at its pixel size; none for an image-only model) and standardised with the scaler saved with the
    model (never refitted on the images classified); a model trained on a metadata table is refused
    (:func:`check_metadata_source`). An image that cannot be read, or is over ``max_pixels``, is a row of the
    rejected table (path, reason) and the rest goes on.
    """
    model, bundle = load_model(model_path, device)
    check_metadata_source(model_path, bundle)
    record = bundle["metadata"]
    scaler = MetadataScaler(**bundle["scaler"])
    classes = bundle["classes"]
    dataset = UnlabelledImages(
        list(images["path"]),
        bundle["size"],
        scaler,
        max_pixels,
        columns=record["columns"] if bundle["settings"]["use_metadata"] else [],
        microns_per_pixel=record["microns_per_pixel"] or MICRONS_PER_PIXEL,
    )
    loader = DataLoader(dataset, batch_size=batch_size, num_workers=workers, pin_memory=device.type == "cuda")
    rows, rejected, vectors = [], [], []
    position = 0
    with torch.no_grad():
        for batch, metadata, ok, error in progress(loader, desc="shard", total=len(loader)):
            n = len(ok)
            samples = images["sample"].iloc[position : position + n].to_numpy()
            paths = images["path"].iloc[position : position + n].to_numpy()
            position += n
            for path, good, message in zip(paths, ok.tolist(), error, strict=True):
                if not good:
                    log.warning("skipped: %s", message)
                    rejected.append({"path": path, "reason": message})
            keep = ok.numpy().astype(bool)
            if not keep.any():
                continue
            with torch.autocast(device.type, enabled=device.type == "cuda"):
                logits, embedding = model(batch[keep].to(device), metadata[keep].to(device))
            probabilities = torch.softmax(logits.float(), 1).cpu().numpy()
            for path, sample, p in zip(paths[keep], samples[keep], probabilities, strict=True):
                rows.append(
                    {
                        "path": path,
                        "sample": sample,
                        "prediction": classes[int(p.argmax())],
                        **{f"p_{c}": float(v) for c, v in zip(classes, p, strict=True)},
                    }
                )
            if embeddings:
                vectors.append(embedding.float().cpu().numpy())
    columns = ["path", "sample", "prediction", *[f"p_{c}" for c in classes]]
    table = pd.DataFrame(rows, columns=columns)
    if embeddings:
        matrix = np.concatenate(vectors) if vectors else np.zeros((0, model.image.fc.out_features))
        table["embedding"] = list(matrix.astype(np.float32))
    return table, pd.DataFrame(rejected, columns=["path", "reason"])


def classify_shard(
    listing: pd.DataFrame,
    shard: str,
    model_path: str | os.PathLike[str],
    device: torch.device,
    settings: InferenceSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`classify_images` of the rows of ``listing`` in ``shard``."""
    table, rejected = classify_images(
        model_path,
        shard_rows(listing, shard, settings.per_shard),
        device,
        batch_size=settings.batch_size,
        workers=settings.workers,
        embeddings=settings.embeddings,
        max_pixels=settings.max_pixels,
    )
    log.info("shard %s: %d images classified, %d skipped", shard, len(table), len(rejected))
    return table, rejected


def write_parquet(table: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a table as Parquet atomically (embeddings as a list column)."""
    with atomic_path(path) as tmp:
        pq.write_table(pa.Table.from_pandas(table, preserve_index=False), tmp)


def gather(
    shards: list[str | os.PathLike[str]],
    rejected: list[str | os.PathLike[str]] = (),
    detector: NoveltyDetector | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The predictions of all shards (without embeddings), the per-class counts per sample, and the images the
    shards rejected (their ``rejected`` tables together). With a ``detector``, the predictions gain the ``novelty``
    score and ``novel`` flag of each embedding (the shards must hold embeddings)."""
    tables = [pq.read_table(path, columns=None).to_pandas() for path in shards]
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=["path", "sample", "prediction"])
    if detector is not None:
        if "embedding" not in table.columns and len(table):
            raise ValueError(
                f"{shards[0]}: the shards hold no embeddings, which the novelty score needs "
                "(set particles.inference.embeddings: true)"
            )
        vectors = np.stack(table["embedding"].to_numpy()) if len(table) else np.zeros((0, detector.means.shape[1]))
        table = detector.flag(table, vectors)
    table = table.drop(columns=["embedding"], errors="ignore")
    classes = [column.removeprefix("p_") for column in table.columns if column.startswith("p_")]
    counts = pd.crosstab(table["sample"], table["prediction"]).reindex(columns=classes, fill_value=0).reset_index()
    counts.columns.name = None
    skipped = [read_table(path) for path in rejected]
    skipped = pd.concat(skipped, ignore_index=True) if skipped else pd.DataFrame(columns=["path", "reason"])
    log.info("%d images classified, %d skipped; counts per sample:\n%s", len(table), len(skipped), counts.to_string())
    return table, counts, skipped
