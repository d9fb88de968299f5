"""Particles from class folders (particles.train_dir, the flowcam tree): the reader, the session split and the one
metadata source of a model, refused at inference where the images lack its table."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from fingerprintml.particles.data import MetadataScaler, load_image, metadata_record, split_by_session
from fingerprintml.particles.folders import FolderSettings, read_class_folders
from fingerprintml.particles.inference import MetadataSourceError, classify_images
from fingerprintml.particles.model import ParticleNet
from fingerprintml.particles.schema import METADATA_COLUMNS
from fingerprintml.particles.shape import flowcam_metadata
from fingerprintml.particles.shards import built_datasets, classified_images, folder_source
from fingerprintml.particles.train import save_model

FLOWCAM = "VickoT/FlowCam_Image_Classifier/5d73e30c05686da464b0bb5f0542c6bcc35311b2/Training/data"


def particle(radius: float, contrast: float, seed: int) -> np.ndarray:
    """A dark disc of ``radius`` px on a bright noisy background, 40 x 40 grey levels (0-255 floats)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:40, :40]
    disc = (yy - 20) ** 2 + (xx - 20) ** 2 < radius**2
    return np.clip(200 - contrast * disc + rng.normal(0, 3, (40, 40)), 0, 255)


def write_mixed_tree(root: Path) -> dict[str, Path]:
    """Two classes in PNG, 16-bit TIFF, colour JPEG and a nested folder, plus a corrupt PNG, a text file and the
    hidden files a notebook or a Mac leaves (none of them images to train on)."""
    paths = {}
    for name, radius in (("large", 12), ("small", 5)):
        for index in range(3):
            pixels = particle(radius, 120, seed=10 * radius + index)
            paths[f"{name}_8bit_{index}"] = root / name / f"run{index % 2}_{name}_{index}.png"
            paths[f"{name}_8bit_{index}"].parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(pixels.astype(np.uint8)).save(paths[f"{name}_8bit_{index}"])
        pixels = particle(radius, 120, seed=10 * radius)
        paths[f"{name}_16bit"] = root / name / "deeper" / f"run0_{name}_16.tif"
        paths[f"{name}_16bit"].parent.mkdir()
        Image.fromarray(pixels.astype(np.uint8).astype(np.uint16) * 257).save(paths[f"{name}_16bit"])
        paths[f"{name}_colour"] = root / name / f"run1_{name}_rgb.jpg"
        Image.fromarray(np.stack([pixels.astype(np.uint8)] * 3, axis=-1)).save(paths[f"{name}_colour"], quality=98)
        (root / name / ".ipynb_checkpoints").mkdir()
        (root / name / ".ipynb_checkpoints" / "copy.png").write_bytes(paths[f"{name}_8bit_0"].read_bytes())
        (root / name / ".DS_Store").write_bytes(b"\0\0")
    paths["corrupt"] = root / "small" / "run0_small_corrupt.png"
    paths["corrupt"].write_bytes(b"\x89PNG truncated")
    paths["notes"] = root / "large" / "notes.txt"
    paths["notes"].write_text("counted by hand\n")
    (root / "small" / "run0_small_0.png.verified").write_text("{}")  # a download's verification record
    return paths


def test_class_folders_of_mixed_formats_read_with_pixel_metadata_and_unreadable_files_listed(tmp_path: Path) -> None:
    paths = write_mixed_tree(tmp_path / "train")
    settings = FolderSettings("pixels", session_pattern=r"^(run\d)_", microns_per_pixel=0.8)
    labelled, unreadable = read_class_folders(tmp_path / "train", settings)
    assert labelled.groupby("class").size().to_dict() == {"large": 5, "small": 5}
    assert sorted(unreadable["path"]) == sorted([str(paths["corrupt"]), str(paths["notes"])])
    reasons = dict(zip(unreadable["path"], unreadable["reason"], strict=True))
    assert "cannot read image" in reasons[str(paths["corrupt"])] and "not an image file" in reasons[str(paths["notes"])]
    assert not labelled["path"].str.contains("ipynb_checkpoints|DS_Store").any()
    assert list(labelled.columns) == ["path", "class", "session", *METADATA_COLUMNS]
    assert set(labelled["session"]) == {"run0", "run1"}
    rows = labelled.set_index("path")
    # The 16-bit TIFF and the colour JPEG are the same particle as the 8-bit PNG: the same metadata, at 0.8 um/px.
    for other in ("large_16bit", "large_colour"):
        same = rows.loc[str(paths[other]), "Area (ABD)"] / rows.loc[str(paths["large_8bit_0"]), "Area (ABD)"]
        assert same == pytest.approx(1, abs=0.03)
    expected = flowcam_metadata(load_image(paths["large_8bit_0"]), 0.8)["Area (ABD)"]
    assert rows.loc[str(paths["large_8bit_0"]), "Area (ABD)"] == pytest.approx(expected)
    assert rows.loc[str(paths["large_8bit_1"]), "Area (ABD)"] > 4 * rows.loc[str(paths["small_8bit_1"]), "Area (ABD)"]


def test_a_metadata_table_keyed_by_file_name_gives_columns_and_sessions_and_lists_what_it_lacks(tmp_path: Path) -> None:
    paths = write_mixed_tree(tmp_path / "train")
    images = [p for key, p in paths.items() if key not in ("corrupt", "notes")]
    table = pd.DataFrame(
        {
            "File_name": [p.name for p in images],
            "Dataset": [p.name.split("_")[0] for p in images],
            "Area (ABD)": np.arange(len(images), dtype=float) + 1,
            "Intensity": ["100"] * len(images),
            "Class": "ignored",
        }
    )
    table.loc[1, "Intensity"] = "n/a"
    table = table[table["File_name"] != paths["small_colour"].name]
    table.to_csv(tmp_path / "table.csv", index=False)
    settings = FolderSettings("table", session_column="Dataset")
    labelled, unreadable = read_class_folders(tmp_path / "train", settings, tmp_path / "table.csv")
    assert list(labelled.columns) == ["path", "class", "session", "Area (ABD)", "Intensity"]
    assert len(labelled) == 8 and set(labelled["session"]) == {"run0", "run1"}
    reasons = dict(zip(unreadable["path"], unreadable["reason"], strict=True))
    assert "'Intensity' is not a number" in reasons[str(images[1])]
    assert f"no row for '{paths['small_colour'].name}'" in reasons[str(paths["small_colour"])]
    assert len(unreadable) == 4  # + the corrupt image and the text file
    with pytest.raises(ValueError, match="needs a metadata table"):
        read_class_folders(tmp_path / "train", settings)
    with pytest.raises(ValueError, match="no column 'Session'"):
        read_class_folders(
            tmp_path / "train", FolderSettings("table", session_column="Session"), tmp_path / "table.csv"
        )


def labelled_rows(sessions: dict[str, dict[str, int]]) -> pd.DataFrame:
    rows = [
        {"path": f"{session}/{name}/{i}.png", "class": name, "session": session}
        for session, counts in sessions.items()
        for name, count in counts.items()
        for i in range(count)
    ]
    return pd.DataFrame(rows)


def test_split_holds_whole_sessions_out_for_test_else_stratifies() -> None:
    labelled = labelled_rows({f"s{i}": {"a": 40, "b": 10} for i in range(5)})
    split = split_by_session(labelled, test_fraction=0.3, val_fraction=0.2, seed=3)
    per_session = split.groupby("session")["split"].agg(lambda s: set(s))
    held = [name for name, parts in per_session.items() if parts == {"test"}]
    assert len(held) == 2 and all("test" not in parts for name, parts in per_session.items() if name not in held)
    train_val = split[split["split"] != "test"]
    assert (train_val.groupby("class")["split"].apply(lambda s: (s == "val").sum()) == [24, 6]).all()
    assert split.equals(split_by_session(labelled, test_fraction=0.3, val_fraction=0.2, seed=3))
    flat = labelled.assign(session=np.nan)
    stratified = split_by_session(flat, test_fraction=0.25, val_fraction=0.2, seed=3)
    assert stratified.groupby("class")["split"].apply(lambda s: (s == "test").sum()).to_dict() == {"a": 50, "b": 12}
    with pytest.raises(ValueError, match="one acquisition session"):
        split_by_session(labelled.assign(session="s0"), test_fraction=0.3, val_fraction=0.2, seed=3)
    with pytest.raises(ValueError, match="5 images have no session"):
        split_by_session(labelled.assign(session=[""] * 5 + list(labelled["session"][5:])), 0.3, 0.2, 3)
    lopsided = labelled_rows({"s0": {"a": 20, "b": 10}, "s1": {"a": 20}})
    with pytest.raises(ValueError, match=r"\['b'\]: no training image left"):
        split_by_session(lopsided, test_fraction=0.5, val_fraction=0.2, seed=0)


def save_toy_model(path: Path, record: dict, use_metadata: bool) -> Path:
    columns = record["columns"]
    model = ParticleNet(len(columns), 2, width=4, use_metadata=use_metadata).eval()
    save_model(
        model, path, ["a", "b"], MetadataScaler(np.zeros(len(columns)), np.ones(len(columns))), 24, metadata=record
    )
    return path


def test_a_model_trained_on_a_metadata_table_refuses_images_without_it_and_image_only_classifies_them(
    tmp_path: Path,
) -> None:
    image = tmp_path / "sample" / "p.png"
    image.parent.mkdir()
    Image.fromarray(particle(8, 120, 1).astype(np.uint8)).save(image)
    listing = pd.DataFrame({"path": [str(image)], "sample": "sample"})
    table = metadata_record("table", ["Area (ABD)", "Intensity"], table="initial_data_preparation.csv")
    full = save_toy_model(tmp_path / "full.pt", table, use_metadata=True)
    with pytest.raises(
        MetadataSourceError,
        match=r"full\.pt: this model was trained on the metadata table "
        r"initial_data_preparation\.csv .*particles\.inference\.model: image_only",
    ):
        classify_images(full, listing, torch.device("cpu"), batch_size=2, workers=0, embeddings=False)
    image_only = save_toy_model(tmp_path / "image_only.pt", table, use_metadata=False)
    predictions, rejected = classify_images(
        image_only, listing, torch.device("cpu"), batch_size=2, workers=0, embeddings=False
    )
    assert list(predictions["path"]) == [str(image)] and rejected.empty
    pixels = save_toy_model(
        tmp_path / "pixels.pt", metadata_record("pixels", METADATA_COLUMNS, microns_per_pixel=0.7), True
    )
    predictions, _ = classify_images(pixels, listing, torch.device("cpu"), batch_size=2, workers=0, embeddings=False)
    assert predictions[["p_a", "p_b"]].sum(axis=1).to_numpy() == pytest.approx([1.0])


def test_user_dataset_is_built_with_train_dir_and_a_table_source_needs_its_table() -> None:
    assert built_datasets(["demo"], "my_images") == ["demo", "user"]
    assert built_datasets(["demo"], None) == ["demo"]
    with pytest.raises(ValueError, match=r"particles\.train_dir"):
        built_datasets(["user"], None)
    block = {"metadata": "table", "session": None}
    with pytest.raises(ValueError, match=r"particles\.train_metadata"):
        folder_source(block, "user", None, "my_images", None)
    assert folder_source({"metadata": "pixels"}, "user", None, "my_images", None) == {
        "folder": "my_images",
        "table": None,
    }
    tree = {"metadata": "table", "images": "classes", "table": "t.csv"}
    assert folder_source(tree, "flowcam", "resources/downloads/particles/flowcam/manifest.tsv", None, None) == {
        "folder": "resources/downloads/particles/flowcam/classes",
        "table": "resources/downloads/particles/flowcam/t.csv",
    }


def test_a_table_trained_model_classifies_no_images_without_the_table_unless_the_image_only_model_does() -> None:
    paper = {"archive": "particles/datasets.zip", "metadata": "table"}
    demo = {"generator": {}, "metadata": "pixels"}
    flowcam = {"tree": "particles/flowcam/manifest.tsv", "metadata": "table"}
    assert classified_images(demo, "demo", images=None, run="full") == "inference"
    assert classified_images(paper, "paper", images=None, run="full") is None
    assert classified_images(paper, "paper", images=None, run="image_only") == "inference"
    assert classified_images(flowcam, "flowcam", images=None, run="image_only") is None
    assert classified_images(flowcam, "flowcam", images="my_images", run="image_only") == "user"
    with pytest.raises(ValueError, match=r"dataset 'flowcam' is trained on its metadata table.*image_only"):
        classified_images(flowcam, "flowcam", images="my_images", run="full")


def test_flowcam_tree_reads_every_image_with_flowcams_columns_and_its_sessions(mirror: Path) -> None:
    data = mirror / FLOWCAM
    settings = FolderSettings("table", session_column="Dataset")
    labelled, unreadable = read_class_folders(data / "classes", settings, data / "initial_data_preparation.csv")
    assert unreadable.empty
    assert labelled.groupby("class").size().to_dict() == {"Junk": 2295, "Missed": 287, "Protist": 418}
    assert len(labelled.columns) - 3 == 32 and "Biovolume (Cylinder)" not in labelled
    assert set(labelled["session"]) == {"dataset_1", "dataset_2", "dataset_3"}
    table = pd.read_csv(data / "initial_data_preparation.csv").set_index("File_name")
    row = labelled.iloc[100]
    assert row["Diameter (ESD)"] == table.loc[Path(row["path"]).name, "Diameter (ESD)"]
    split = split_by_session(labelled, test_fraction=0.3, val_fraction=0.15, seed=20230207)
    assert split.groupby("session")["split"].nunique().max() <= 2
    assert split.loc[split["split"] == "test", "session"].nunique() == 1
