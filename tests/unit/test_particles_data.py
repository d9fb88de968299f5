"""Particles: image loading, metadata from the pixels, the labelled tables and the grouped balanced split."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from skimage import draw

from fingerprintml.particles.data import (
    ImageReadError,
    MetadataScaler,
    decode_images,
    inference_listing,
    list_images,
    load_arrays,
    load_image,
    prepare_arrays,
    read_class_tables,
    save_arrays,
    split_dataset,
)
from fingerprintml.particles.demo import read_class_table, write_demo_dataset
from fingerprintml.particles.schema import CLASSES, METADATA_COLUMNS, class_of, session_of
from fingerprintml.particles.shape import MICRONS_PER_PIXEL, flowcam_metadata
from fingerprintml.particles.shards import image_files, source_inputs
from fingerprintml.particles.sources import make_dataset, paper_member_path

REPO = Path(__file__).resolve().parents[2]


def particle(
    shape: tuple[int, int], rr: np.ndarray, cc: np.ndarray, background: int = 130, level: int = 60
) -> np.ndarray:
    image = np.full(shape, background, dtype=np.uint8)
    image[rr, cc] = level
    return image


def test_disk_metadata_matches_its_geometry() -> None:
    rr, cc = draw.disk((60, 60), 30, shape=(120, 120))
    meta = flowcam_metadata(particle((120, 120), rr, cc))
    assert meta["Diameter (ABD)"] == pytest.approx(60 * MICRONS_PER_PIXEL, rel=0.02)
    assert meta["Aspect Ratio"] == pytest.approx(1.0, abs=0.03)
    assert meta["Circularity"] > 0.85 and meta["Symmetry"] > 0.97 and meta["Circle Fit"] > 0.95
    assert meta["Intensity"] == pytest.approx(60, abs=1) and meta["Transparency"] == 0
    assert list(meta) == METADATA_COLUMNS


def test_ellipse_aspect_ratio_and_length_follow_its_axes() -> None:
    rr, cc = draw.ellipse(60, 80, 15, 60, shape=(120, 160))
    meta = flowcam_metadata(particle((120, 160), rr, cc))
    assert meta["Aspect Ratio"] == pytest.approx(0.25, abs=0.03)
    assert meta["Length"] == pytest.approx(120 * MICRONS_PER_PIXEL, rel=0.03)
    assert meta["Elongation"] == pytest.approx(0.75, abs=0.03)


def test_session_and_class_from_flowcam_file_names() -> None:
    assert session_of("images/camp/camp_11nov_4_fc80_20x_33.png") == "camp_11nov_4_fc80_20x"
    assert session_of("GRIP_3046_0_20_1_1081.png") == "GRIP_3046_0_20_1"
    assert [class_of(n) for n in ["focustest_2nov_1_fc80_20x_20.png", "GRIP_3046_0_20_1_1081.png", "qsub_1.png"]] == [
        "dust",
        "cont",
        "qsub",
    ]


def test_unreadable_image_is_an_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    with pytest.raises(ImageReadError, match=r"broken\.png"):
        load_image(bad)
    with pytest.raises(ImageReadError, match=r"missing\.png"):
        load_image(tmp_path / "missing.png")


ICELEARNING_EXAMPLES = "nmaffe/icelearning/b41b251e868247bfe2a88b71a626b6090423b52e/train_examples"


def test_wide_and_float_images_are_scaled_by_the_range_they_use(mirror: Path, tmp_path: Path) -> None:
    """A real FlowCam particle written as 16-bit (full range and 12-bit camera data), 32-bit and float TIFF, 16-bit
    PNG and colour JPEG reads as the 8-bit original, within rounding (JPEG: within its compression error)."""
    original = load_image(mirror / ICELEARNING_EXAMPLES / "corylus_4nov_1_fc80_20x_3.png")
    assert original.dtype == np.uint8 and original.min() > 20 and original.max() < 200
    levels = original.astype(np.float64)
    variants = {
        "full16.tif": (levels * 257).astype(np.uint16),
        "full16.png": (levels * 257).astype(np.uint16),
        "camera12.tif": np.rint(levels * 4095 / 255).astype(np.uint16),
        "eight_in16.tif": levels.astype(np.uint16),
        "int32.tif": np.rint(levels * (2**31 - 1) / 255).astype(np.int32),
        "float.tif": (levels / 255).astype(np.float32),
    }
    for name, pixels in variants.items():
        Image.fromarray(pixels).save(tmp_path / name)
        assert np.abs(load_image(tmp_path / name).astype(int) - original).max() <= 1, name
    Image.fromarray(np.stack([original] * 3, axis=-1)).save(tmp_path / "colour.jpg", quality=95)
    assert np.abs(load_image(tmp_path / "colour.jpg").astype(int) - original).mean() < 1.5
    Image.fromarray((levels / 255 - 0.5).astype(np.float32)).save(tmp_path / "signed.tif")
    with pytest.raises(ImageReadError, match=r"signed\.tif: pixel values from -0\.\d+ .* not grey levels"):
        load_image(tmp_path / "signed.tif")


def test_an_image_over_the_pixel_limit_is_refused_from_its_header_with_the_memory_it_needs(tmp_path: Path) -> None:
    huge = tmp_path / "huge.png"
    Image.fromarray(np.full((8000, 8000), 130, np.uint8)).save(huge)
    header_only = tmp_path / "header_only.png"
    header_only.write_bytes(huge.read_bytes()[:200])  # no pixel data: only the header can have been read
    for path in (huge, header_only):
        with pytest.raises(ImageReadError, match=rf"{path.name}: image of 8000 x 8000 pixels .* about 3\.5 GB"):
            load_image(path, max_pixels=10_000_000)
    assert load_image(huge, max_pixels=64_000_000).shape == (8000, 8000)


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    classes = read_class_table(REPO / "resources/particles/demo_classes.csv")
    classes["n"] = 4
    classes["sessions"] = 2
    root = tmp_path_factory.mktemp("particles-demo")
    write_demo_dataset(classes, root, seed=3, per_sample=3, samples=2)
    return root


def test_demo_has_the_paper_layout_and_metadata_computed_from_each_image(demo_root: Path) -> None:
    labelled = read_class_tables(demo_root)
    assert sorted(labelled["class"].unique()) == sorted(CLASSES) and len(labelled) == 4 * len(CLASSES)
    for _, row in labelled.iloc[::5].iterrows():
        recomputed = flowcam_metadata(np.asarray(Image.open(row["path"])))
        assert [recomputed[c] for c in METADATA_COLUMNS] == pytest.approx(list(row[METADATA_COLUMNS]), rel=1e-5)
    tests = sorted((demo_root / "datasets" / "test").rglob("*.png"))
    assert len(tests) == 2 * 3 + 1 and sum(p.name.startswith("corrupt") for p in tests) == 1


def test_missing_metadata_column_is_an_error_naming_it(demo_root: Path, tmp_path: Path) -> None:
    for name in CLASSES:
        table = pd.read_csv(demo_root / "datasets" / f"{name}.csv")
        if name == "qrob":
            table = table.drop(columns=["Sigma Intensity"])
        (tmp_path / "datasets").mkdir(exist_ok=True)
        table.assign(imgpaths=[str(demo_root / p) for p in table["imgpaths"]]).to_csv(
            tmp_path / "datasets" / f"{name}.csv", index=False
        )
    with pytest.raises(ValueError, match=r"qrob.csv: missing metadata column\(s\) \['Sigma Intensity'\]"):
        read_class_tables(tmp_path)


def test_non_numeric_metadata_is_an_error_naming_column_and_line(demo_root: Path, tmp_path: Path) -> None:
    (tmp_path / "datasets").mkdir()
    for name in CLASSES:
        table = pd.read_csv(demo_root / "datasets" / f"{name}.csv")
        if name == "dust":
            table["Width"] = table["Width"].astype(object)
            table.loc[2, "Width"] = "n/a"
        table.to_csv(tmp_path / "datasets" / f"{name}.csv", index=False)
    with pytest.raises(ValueError, match=r"dust.csv: column 'Width' has a missing or non-numeric value at line 4"):
        read_class_tables(tmp_path)


def labelled_frame(sessions_per_class: int = 6, per_session: int = 7) -> pd.DataFrame:
    rows = [
        {"path": f"{c}_{s}_{i}.png", "class": c, "session": f"{c}/{c}_{s}"}
        for c in CLASSES
        for s in range(sessions_per_class)
        for i in range(per_session + (s % 3))
    ]
    return pd.DataFrame(rows)


def test_split_is_class_balanced_grouped_disjoint_and_seeded() -> None:
    labelled = labelled_frame()
    split = split_dataset(labelled, n_val=5, n_test=8, seed=11)
    counts = split.groupby(["class", "split"]).size().unstack(fill_value=0)
    assert (counts["test"] == 8).all() and (counts["val"] == 5).all() and (counts["train"] > 0).all()
    sessions = {part: set(split.loc[split["split"] == part, "session"]) for part in ("train", "val", "test")}
    assert not sessions["train"] & sessions["test"] and not sessions["train"] & sessions["val"]
    assert not sessions["val"] & sessions["test"]
    assert split["path"].is_unique
    again = split_dataset(labelled, n_val=5, n_test=8, seed=11)
    assert again["split"].equals(split["split"])
    assert not split_dataset(labelled, n_val=5, n_test=8, seed=12)["split"].equals(split["split"])


def test_split_with_too_few_images_names_the_class() -> None:
    labelled = labelled_frame()
    labelled = labelled[(labelled["class"] != "grim") | (labelled["session"] == "grim/grim_0")]
    with pytest.raises(ValueError, match="'grim'"):
        split_dataset(labelled, n_val=5, n_test=8, seed=1)


def test_paper_members_are_placed_from_datasets_on() -> None:
    place = paper_member_path
    assert place(PurePosixPath("ICELEARNING/datasets/camp.csv")) == PurePosixPath("datasets/camp.csv")
    assert place(PurePosixPath("a/b/datasets/test/GRIP_1/x.png")) == PurePosixPath("datasets/test/GRIP_1/x.png")
    assert place(PurePosixPath("ICELEARNING/images/camp/c_1.png")) == PurePosixPath("images/camp/c_1.png")
    assert place(PurePosixPath("README.txt")) is None


def test_paper_archive_is_extracted_member_by_member_into_the_layout(demo_root: Path, tmp_path: Path) -> None:
    archive = tmp_path / "record.zip"
    files = sorted(p.relative_to(demo_root) for p in demo_root.rglob("*") if p.is_file())
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("README.txt", "left out")
        for relative in files:  # the record's layout under one leading folder
            bundle.write(demo_root / relative, f"ICELEARNING/{relative.as_posix()}")
    root = tmp_path / "raw"
    labelled, unlabelled, unreadable = make_dataset(root, seed=1, archive=archive)
    assert unreadable.empty
    assert sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file()) == files
    assert len(labelled) == 4 * len(CLASSES) and labelled["path"].map(lambda p: Path(p).is_file()).all()
    assert len(unlabelled) == 2 * 3 + 1 and set(unlabelled["sample"]) == {"GRIP_3046", "GRIP_3047"}
    stamps = {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}
    make_dataset(root, seed=1, archive=archive)  # a rerun keeps the members already in place
    assert {p: p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()} == stamps
    with pytest.raises(ValueError, match="exactly one source"):
        make_dataset(root, seed=1)


def test_demo_source_draws_the_generator_layout(tmp_path: Path) -> None:
    classes = read_class_table(REPO / "resources/particles/demo_classes.csv")
    classes["n"] = 3
    classes["sessions"] = 1
    table = tmp_path / "classes.csv"
    classes.to_csv(table, index=False)
    labelled, unlabelled, _ = make_dataset(tmp_path / "raw", seed=2, classes=table, samples=2, images_per_sample=2)
    assert labelled.groupby("class").size().to_dict() == {name: 3 for name in CLASSES}
    assert len(unlabelled) == 2 * 2 + 1 and unlabelled["path"].str.endswith("corrupt_0000.png").sum() == 1


def test_image_files_are_every_image_below_the_folder_sorted(tmp_path: Path) -> None:
    for name in ["b/2.PNG", "a/1.png", "a/deeper/3.tif", "a/notes.txt", "c.jpeg"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    assert [p.relative_to(tmp_path).as_posix() for p in image_files(tmp_path)] == [
        "a/1.png",
        "a/deeper/3.tif",
        "b/2.PNG",
        "c.jpeg",
    ]
    assert list(list_images(tmp_path)["sample"]) == ["a", "deeper", "b", tmp_path.name]
    with pytest.raises(FileNotFoundError, match="missing"):
        image_files(tmp_path / "missing")


def test_inference_listing_checks_the_planned_count(tmp_path: Path) -> None:
    for name in ["s1/1.png", "s1/2.png", "s2/3.png"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    listing = inference_listing(folder=str(tmp_path), expected=3)
    assert list(listing["sample"]) == ["s1", "s1", "s2"] and list(listing.columns) == ["path", "sample"]
    with pytest.raises(ValueError, match="2 when the workflow was planned"):
        inference_listing(folder=str(tmp_path), expected=2)
    unlabelled = pd.DataFrame({"path": ["x.png"], "sample": ["s"], "extra": [1]})
    assert inference_listing(unlabelled=unlabelled).to_dict("list") == {"path": ["x.png"], "sample": ["s"]}
    with pytest.raises(ValueError, match="nothing to classify"):
        inference_listing(unlabelled=unlabelled.iloc[:0])


def test_arrays_of_the_split_round_trip_through_one_file(demo_root: Path, tmp_path: Path) -> None:
    labelled = read_class_tables(demo_root)
    split = labelled[["path"]].assign(split=(["train", "train", "val", "test"] * len(labelled))[: len(labelled)])
    arrays, scaler = prepare_arrays(labelled, split, size=16)
    train_rows = labelled[split["split"] == "train"]
    expected = MetadataScaler.fit(train_rows[METADATA_COLUMNS].to_numpy(float))
    assert np.allclose(scaler.mean, expected.mean) and np.allclose(scaler.scale, expected.scale)
    test_rows = labelled[split["split"] == "test"]
    assert list(arrays["test"].paths) == list(test_rows["path"])
    assert list(arrays["test"].labels) == [CLASSES.index(c) for c in test_rows["class"]]
    assert np.array_equal(arrays["test"].images, decode_images(list(test_rows["path"]), 16))
    assert np.allclose(arrays["train"].metadata.mean(axis=0), 0, atol=1e-5)
    save_arrays(tmp_path / "arrays.npz", arrays)
    loaded = load_arrays(tmp_path / "arrays.npz")
    for part in ("train", "val", "test"):
        for field in ("images", "metadata", "labels", "paths"):
            assert np.array_equal(getattr(loaded[part], field), getattr(arrays[part], field)), (part, field)
    assert list(load_arrays(tmp_path / "arrays.npz", ("test",))) == ["test"]
    with pytest.raises(ValueError, match="does not list"):
        prepare_arrays(labelled, split.iloc[::-1], size=16)


def test_planning_imports_no_heavy_module() -> None:
    # What particles.smk imports at planning, in a fresh interpreter where torch, PIL, skimage and scipy cannot load.
    code = (
        "import sys\n"
        "for name in ('torch', 'PIL', 'skimage', 'scipy', 'pandas'):\n"
        "    sys.modules[name] = None\n"
        "from fingerprintml.particles.shards import count_listed, image_files\n"
        "from fingerprintml.shards import shard_names\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stderr
    rules = (REPO / "workflow/rules/particles.smk").read_text()
    imported = {line.split()[1] for line in rules.splitlines() if line.startswith(("from ", "import "))}
    assert imported == {"fingerprintml.particles.shards", "fingerprintml.shards"}


def test_a_dataset_source_is_the_generator_table_or_a_declared_archive() -> None:
    demo = {"generator": {"classes": "resources/particles/demo_classes.csv", "samples": 1, "images_per_sample": 1}}
    assert source_inputs(demo, "demo", {}) == {"classes": "resources/particles/demo_classes.csv"}
    paper = {"archive": "particles/datasets.zip"}
    assert source_inputs(paper, "paper", {"particles/datasets.zip": object()}) == {"archive": "particles/datasets.zip"}
    with pytest.raises(ValueError, match=r"'paper': its archive 'particles/datasets.zip' is not declared.*sha256"):
        source_inputs(paper, "paper", {"isotopes/X_train.txt": object()})
