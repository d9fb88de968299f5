"""Reading the labelled tables and images, the grouped class-balanced split, and the torch datasets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from fingerprintml.io import write_arrays
from fingerprintml.particles.schema import CLASSES, METADATA_COLUMNS, session_of
from fingerprintml.particles.shape import MICRONS_PER_PIXEL, flowcam_metadata
from fingerprintml.particles.shards import image_files
from fingerprintml.seeds import rng_for

# Grey-level normalisation of the network input: mean and spread of the seven real FlowCam examples.
IMAGE_MEAN = 110.0
IMAGE_STD = 40.0
# The parts of the split that are turned into arrays (``unused`` images are neither trained on nor tested).
PARTS = ("train", "val", "test")
ARRAY_FIELDS = ("images", "metadata", "labels", "paths")


class ImageReadError(ValueError):
    """An image file that cannot be decoded or makes no grey-level sense; the message names the file."""


# Images larger than this (pixels) are refused before decoding, with the memory they would need: FlowCam crops are
# tens to hundreds of pixels across, and decoding plus the shape metadata of the pixels peak at about
# BYTES_PER_PIXEL bytes per pixel (measured with tracemalloc: 47-54 on 1000-3000 px images).
# ``particles.inference.max_pixels`` sets the limit for inference; the labelled images of a dataset use this one.
MAX_PIXELS = 10_000_000
BYTES_PER_PIXEL = 55
# Full-scale values of the bit depths images are written with: a wider image is scaled to 0-255 by the smallest one
# that holds its brightest pixel (8-bit data saved as 16-bit stays as it was, 12-bit camera data fills 0-255; 31:
# signed 32-bit).
FULL_SCALES = tuple(2**bits - 1 for bits in (8, 10, 12, 14, 16, 24, 31, 32))


def grey_levels(pixels: np.ndarray, path: str | os.PathLike[str]) -> np.ndarray:
    """0-255 grey levels (uint8) of a one-channel image of any depth, scaled by the range its values really use.

    Parameters
    ----------
    pixels
        2-D array as decoded: uint8 is kept; wider integers and floats are divided by their full scale, 1 for floats
        within 0-1 (the convention of float images), else the smallest of :data:`FULL_SCALES` not below the
        brightest pixel. Negative or non-finite values are an error: they are no grey level.
    path
        The file, named in the error.
    """
    if pixels.dtype == np.uint8:
        return pixels
    values = pixels.astype(np.float64)
    if not np.isfinite(values).all() or values.min() < 0:
        raise ImageReadError(
            f"{path}: pixel values from {np.nanmin(values):g} to {np.nanmax(values):g} ({pixels.dtype}) are not grey "
            "levels (negative or not finite)"
        )
    brightest = values.max()
    if pixels.dtype.kind == "f" and brightest <= 1:
        full_scale = 1.0
    else:
        full_scale = next((scale for scale in FULL_SCALES if brightest <= scale), FULL_SCALES[-1])
    return np.rint(np.clip(values * (255.0 / full_scale), 0, 255)).astype(np.uint8)


def load_image(path: str | os.PathLike[str], max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """A grey-level image (2-D uint8) from ``path``, the one image reader of the study (training and inference).

    Colour is reduced to luma; 16-bit, 32-bit and float images are scaled by their real range (:func:`grey_levels`).

    Parameters
    ----------
    path
        The image file; an unreadable, empty, too small or nonsensical one raises :class:`ImageReadError`.
    max_pixels
        Largest image (width x height, read from the header before decoding) accepted; a larger one raises
        :class:`ImageReadError` with the memory it would need.
    """
    try:
        with Image.open(path) as image:
            pixel_count = image.width * image.height
            if pixel_count > max_pixels:
                raise ImageReadError(
                    f"{path}: image of {image.width} x {image.height} pixels is over the limit of {max_pixels} pixels; "
                    f"reading it would need about {pixel_count * BYTES_PER_PIXEL / 1e9:.1f} GB of memory. Crop it "
                    "to the particle or raise the limit (particles.inference.max_pixels)"
                )
            if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
                pixels = grey_levels(np.asarray(image), path)
            else:
                pixels = np.asarray(image.convert("L"))
    except ImageReadError:
        raise
    except Image.DecompressionBombError as error:
        raise ImageReadError(
            f"{path}: image too large to open ({error}); reading it would need over "
            f"{2 * Image.MAX_IMAGE_PIXELS * BYTES_PER_PIXEL / 1e9:.0f} GB of memory"
        ) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise ImageReadError(f"{path}: cannot read image ({error})") from error
    if pixels.ndim != 2 or min(pixels.shape) < 3:
        raise ImageReadError(f"{path}: image of shape {pixels.shape} is too small to hold a particle")
    return pixels


def resize(pixels: np.ndarray, size: int) -> np.ndarray:
    """Resize to ``size`` x ``size`` (bilinear, as the original's Resize; the metadata keeps the true size)."""
    return np.asarray(Image.fromarray(pixels).resize((size, size), Image.Resampling.BILINEAR))


def read_class_tables(root: str | os.PathLike[str], classes: list[str] = CLASSES) -> pd.DataFrame:
    """All labelled rows of ``root/datasets/<class>.csv``: path (resolved), class, session and the metadata.

    A table or column that is missing, or a metadata value that is not a number, is an error naming the
    file and the column; ``imgpaths`` are taken relative to ``root`` unless absolute.
    """
    root = Path(root)
    frames = []
    for name in classes:
        path = root / "datasets" / f"{name}.csv"
        if not path.is_file():
            raise FileNotFoundError(f"{path}: table of class {name!r} not found")
        table = pd.read_csv(path)
        missing = [c for c in ["imgpaths", *METADATA_COLUMNS] if c not in table.columns]
        if missing:
            raise ValueError(f"{path}: missing metadata column(s) {missing}")
        values = table[METADATA_COLUMNS].apply(pd.to_numeric, errors="coerce")
        bad = values.isna().any()
        if bad.any():
            column = bad[bad].index[0]
            line = int(values[column].isna().to_numpy().argmax()) + 2
            raise ValueError(f"{path}: column {column!r} has a missing or non-numeric value at line {line}")
        frame = pd.DataFrame(
            {
                "path": [str(p if Path(p).is_absolute() else root / p) for p in table["imgpaths"]],
                "class": name,
                "session": [f"{name}/{session_of(p)}" for p in table["imgpaths"]],
            }
        )
        frames.append(pd.concat([frame, values.astype(float)], axis=1))
    return pd.concat(frames, ignore_index=True)


def split_dataset(labelled: pd.DataFrame, n_val: int, n_test: int, seed: int) -> pd.DataFrame:
    """Seeded, class-balanced validation and test sets of ``n_val`` and ``n_test`` images per class.

    Sessions are kept whole: per class they are shuffled and given to test, then validation, until each
    has enough images; exactly ``n`` images are drawn from those sessions and the rest of them is marked
    ``unused`` (never in training, so no near-duplicate of a test image is trained on). The remaining
    sessions are the training set. A class with too few images is an error naming it.
    """
    split = pd.Series("train", index=labelled.index, name="split")
    for name, rows in labelled.groupby("class", sort=False):
        rng = rng_for(seed, "particles-split", name)
        sessions = sorted(rows["session"].unique())
        queue = [sessions[i] for i in rng.permutation(len(sessions))]
        for part, count in (("test", n_test), ("val", n_val)):
            taken: list[int] = []
            while len(taken) < count and queue:
                taken.extend(rows.index[rows["session"] == queue.pop(0)])
            if len(taken) < count:
                raise ValueError(
                    f"class {name!r}: {len(rows)} images are too few for {n_test} test + {n_val} validation"
                )
            chosen = rng.choice(np.array(taken), size=count, replace=False)
            split[taken] = "unused"
            split[chosen] = part
        if not queue:
            raise ValueError(f"class {name!r}: no session left for training after the test and validation sets")
    return labelled.assign(split=split)


def split_by_session(labelled: pd.DataFrame, test_fraction: float, val_fraction: float, seed: int) -> pd.DataFrame:
    """Seeded split of a class-folder dataset: whole acquisition sessions held out for test, else stratified.

    With a session on every row (two sessions at least), sessions are drawn in a seeded order into the test set until
    it holds ``test_fraction`` of the images, each session whole (all its classes): the test measures other
    acquisitions than those trained on. Without sessions (every ``session`` empty) the test set is a stratified
    ``test_fraction`` of each class. The validation set (the epoch kept) is a stratified ``val_fraction`` of each
    class of the rest. Some rows with a session and some without, or a class with no training image left, is an error.
    """
    sessions = labelled["session"].astype(object).where(labelled["session"].notna(), "").astype(str)
    split = pd.Series("train", index=labelled.index, name="split")
    rng = rng_for(seed, "particles-split", "sessions")
    if (sessions != "").any():
        if (sessions == "").any():
            raise ValueError(
                f"{int((sessions == '').sum())} images have no session and {int((sessions != '').sum())} have one"
            )
        names = sorted(sessions.unique())
        if len(names) < 2:
            raise ValueError(
                f"one acquisition session ({names[0]!r}): holding sessions out for test needs two at least"
            )
        held: list[str] = []
        for name in (names[i] for i in rng.permutation(len(names))):
            if sessions.isin(held).mean() >= test_fraction or len(held) == len(names) - 1:
                break
            held.append(name)
        split[sessions.isin(held)] = "test"
    else:
        for _, rows in labelled.groupby("class", sort=True):
            count = round(test_fraction * len(rows))
            split[rng.choice(rows.index.to_numpy(), size=count, replace=False)] = "test"
    for _, rows in labelled[split == "train"].groupby("class", sort=True):
        count = round(val_fraction * len(rows))
        if count < len(rows):
            split[rng.choice(rows.index.to_numpy(), size=count, replace=False)] = "val"
    missing = sorted(set(labelled["class"]) - set(labelled.loc[split == "train", "class"]))
    if missing:
        raise ValueError(f"class(es) {missing}: no training image left after the test and validation sets")
    return labelled.assign(split=split)


def split_labelled(labelled: pd.DataFrame, settings: Mapping[str, Any], seed: int) -> pd.DataFrame:
    """The split of a dataset's block ``split``: ``val_per_class``/``test_per_class`` (:func:`split_dataset`) or
    ``test_fraction``/``val_fraction`` (:func:`split_by_session`)."""
    if "test_per_class" in settings:
        return split_dataset(labelled, settings["val_per_class"], settings["test_per_class"], seed)
    return split_by_session(labelled, settings["test_fraction"], settings["val_fraction"], seed)


def class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """Inverse-frequency class weights, mean 1 over the training samples."""
    counts = np.bincount(labels, minlength=n_classes).astype(float)
    weights = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
    return weights


class MetadataScaler:
    """Standardisation of the metadata columns, fitted on the training set and saved with the model."""

    def __init__(self, mean: np.ndarray, scale: np.ndarray) -> None:
        self.mean = np.asarray(mean, dtype=float)
        self.scale = np.asarray(scale, dtype=float)

    @classmethod
    def fit(cls, values: np.ndarray) -> MetadataScaler:
        scale = values.std(axis=0)
        return cls(values.mean(axis=0), np.where(scale > 0, scale, 1.0))

    def transform(self, values: np.ndarray) -> np.ndarray:
        return ((values - self.mean) / self.scale).astype(np.float32)

    def state(self) -> dict[str, list[float]]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist()}


def decode_images(paths: list[str], size: int) -> np.ndarray:
    """Decode and resize every image once (uint8, N x size x size); a bad file is an error naming it."""
    return (
        np.stack([resize(load_image(path), size) for path in paths]) if paths else np.zeros((0, size, size), np.uint8)
    )


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 images (N x H x W) -> normalised float tensor (N x 1 x H x W)."""
    pixels = torch.from_numpy(np.require(images, requirements=["C", "W"])).float()
    return ((pixels - IMAGE_MEAN) / IMAGE_STD).unsqueeze(1)


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random flips, quarter turns and brightness (x 0.9-1.1 about the mean) of a normalised batch."""
    n = batch.shape[0]
    flip = torch.rand(n, generator=generator) < 0.5
    batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    turns = torch.randint(0, 4, (n,), generator=generator)
    batch = torch.stack([torch.rot90(image, int(k), dims=(-2, -1)) for image, k in zip(batch, turns, strict=True)])
    gain = 0.9 + 0.2 * torch.rand(n, 1, 1, 1, generator=generator)
    return (batch * IMAGE_STD + IMAGE_MEAN) * gain / IMAGE_STD - IMAGE_MEAN / IMAGE_STD


def list_images(root: str | os.PathLike[str]) -> pd.DataFrame:
    """Every image file under ``root`` (sorted), with its sample: the folder it sits in."""
    paths = image_files(root)
    return pd.DataFrame({"path": [str(p) for p in paths], "sample": [p.parent.name for p in paths]})


def inference_listing(
    *, folder: str | None = None, unlabelled: pd.DataFrame | None = None, expected: int | None = None
) -> pd.DataFrame:
    """The images to classify (``path``, ``sample``): your own ``folder``, else the dataset's ``unlabelled`` table.

    An empty listing is an error; so is a ``folder`` whose image count differs from ``expected`` (the count the
    workflow planned its shards with: the folder changed since).
    """
    images = list_images(folder) if folder else unlabelled
    source = folder or "the dataset's unlabelled images"
    if images is None or images.empty:
        raise ValueError(f"no unlabelled images in {source}: nothing to classify")
    if expected is not None and len(images) != expected:
        raise ValueError(
            f"{len(images)} images found in {source}, {expected} when the workflow was planned: "
            "run snakemake again so the shards follow the images"
        )
    return images[["path", "sample"]].reset_index(drop=True)


@dataclass
class Arrays:
    """One part of the preprocessed data: uint8 images (N x S x S), scaled metadata, class indices, image paths."""

    images: np.ndarray
    metadata: np.ndarray
    labels: np.ndarray
    paths: np.ndarray | None = None


def labelled_layout(labelled: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The classes of a labelled table (the paper's order :data:`CLASSES` when they are the paper's, else sorted) and
    its metadata columns (every column after ``path``, ``class``, ``session``; none for image-only data)."""
    present = set(labelled["class"])
    classes = [c for c in CLASSES if c in present] if present <= set(CLASSES) else sorted(present)
    return classes, [c for c in labelled.columns if c not in ("path", "class", "session")]


def metadata_record(
    source: str, columns: list[str], *, microns_per_pixel: float | None = None, table: str | None = None
) -> dict[str, Any]:
    """What a model records of its metadata: the ``source`` (``table``, ``pixels``, ``none``), the ``columns``, the
    pixel size of pixel-derived columns (:data:`MICRONS_PER_PIXEL` unless given; None for the others) and the
    table's name (``table`` only). Inference reads it to compute the same columns or to refuse."""
    if source == "none" and columns:
        raise ValueError(f"metadata source 'none' with {len(columns)} metadata columns")
    return {
        "source": source,
        "columns": list(columns),
        "microns_per_pixel": float(microns_per_pixel or MICRONS_PER_PIXEL) if source == "pixels" else None,
        "table": str(table) if source == "table" else None,
    }


def prepare_arrays(labelled: pd.DataFrame, split: pd.DataFrame, size: int) -> tuple[dict[str, Arrays], MetadataScaler]:
    """The train, validation and test arrays of the split (images decoded at ``size`` px; labels index the classes
    of :func:`labelled_layout`) and the metadata scaler fitted on the training part; ``split`` must list the images
    of ``labelled`` in the same order."""
    if list(split["path"]) != list(labelled["path"]):
        raise ValueError("the split does not list the images of the labelled table (in its order)")
    classes, columns = labelled_layout(labelled)
    table = labelled.assign(split=split["split"].to_numpy())
    scaler = MetadataScaler.fit(table.loc[table["split"] == "train", columns].to_numpy(float))
    arrays = {}
    for part in PARTS:
        rows = table[table["split"] == part]
        arrays[part] = Arrays(
            images=decode_images(list(rows["path"]), size),
            metadata=scaler.transform(rows[columns].to_numpy(float)),
            labels=rows["class"].map(classes.index).to_numpy(np.int64),
            paths=rows["path"].to_numpy(str),
        )
    return arrays, scaler


def save_arrays(path: str | os.PathLike[str], arrays: dict[str, Arrays]) -> None:
    """Write the parts' arrays to one ``.npz`` (``<part>_images``, ``_metadata``, ``_labels``, ``_paths``)."""
    write_arrays(
        path, **{f"{part}_{field}": getattr(data, field) for part, data in arrays.items() for field in ARRAY_FIELDS}
    )


def load_arrays(path: str | os.PathLike[str], parts: tuple[str, ...] = PARTS) -> dict[str, Arrays]:
    """The parts written by :func:`save_arrays`; a missing part or field is an error naming it."""
    with np.load(path) as data:
        missing = [f"{p}_{f}" for p in parts for f in ARRAY_FIELDS if f"{p}_{f}" not in data.files]
        if missing:
            raise ValueError(f"{path}: missing arrays {missing}")
        return {part: Arrays(**{field: data[f"{part}_{field}"] for field in ARRAY_FIELDS}) for part in parts}


class UnlabelledImages(Dataset):
    """Images for inference: decoded, resized and described (metadata from the pixels, at ``microns_per_pixel``, the
    model's ``columns`` only; none when ``columns`` is empty) in the loader workers.

    An unreadable image (or one over ``max_pixels``) yields ``ok = False`` and its error message, so a shard goes on
    without it.
    """

    def __init__(
        self,
        paths: list[str],
        size: int,
        scaler: MetadataScaler,
        max_pixels: int = MAX_PIXELS,
        *,
        columns: list[str] = METADATA_COLUMNS,
        microns_per_pixel: float = MICRONS_PER_PIXEL,
    ) -> None:
        self.paths = paths
        self.size = size
        self.scaler = scaler
        self.max_pixels = max_pixels
        self.columns = list(columns)
        self.microns_per_pixel = microns_per_pixel

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, bool, str]:
        try:
            pixels = load_image(self.paths[index], self.max_pixels)
        except ImageReadError as error:
            blank = torch.zeros(1, self.size, self.size)
            return blank, torch.zeros(len(self.columns)), False, str(error)
        metadata = np.zeros(0, np.float32)
        if self.columns:
            values = flowcam_metadata(pixels, self.microns_per_pixel)
            metadata = self.scaler.transform(np.array([[values[c] for c in self.columns]]))[0]
        image = to_tensor(resize(pixels, self.size)[None])[0]
        return image, torch.from_numpy(metadata), True, ""
