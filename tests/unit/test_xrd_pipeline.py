"""The xrd steps the rule scripts call: conversion shards, library merge, training set, training history, the
evaluation protocol, demo queries and the identification of a folder of patterns."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from pymatgen.core import Lattice

from fingerprintml.torch_runtime import HISTORY_COLUMNS
from fingerprintml.xrd.augment import clean_pattern, training_set
from fingerprintml.xrd.calibrate import CalibrationSettings, calibrate_identifier
from fingerprintml.xrd.confidence import ConfidenceMap
from fingerprintml.xrd.demo import BROKEN_QUERY, write_demo_queries
from fingerprintml.xrd.evaluate import EvaluationSettings, evaluate_identifier
from fingerprintml.xrd.figures import learning_curves
from fingerprintml.xrd.identify import IdentifySettings, identify_folder
from fingerprintml.xrd.library import from_spacegroup, write_cif
from fingerprintml.xrd.model import Identifier
from fingerprintml.xrd.patterns import Grid, Preprocessing, network_inputs, read_measured_pattern
from fingerprintml.xrd.reflections import compute_reflections
from fingerprintml.xrd.store import convert_cifs, merge_library, shard_cifs
from fingerprintml.xrd.train import load_identifier, save_identifier, train_identifier

REPO = Path(__file__).resolve().parents[2]
CU1 = 1.54056
GRID = Grid(10.0, 90.0, 0.1)
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())["xrd"]
AUGMENTATION = CONFIG["augmentation"]
PREPROCESSING = Preprocessing.from_config(CONFIG["preprocessing"])
ARCH = {"stem_width": 8, "stem_kernel": 9, "stem_stride": 4, "widths": [8, 16], "depths": [1, 1],
        "group_width": 4, "se_ratio": 0.25, "embedding": 16}  # fmt: skip
CPU = torch.device("cpu")


def rocksalt(cation: str, anion: str, a: float):
    return from_spacegroup("Fm-3m", Lattice.cubic(a), [cation, anion], [[0, 0, 0], [0.5, 0.5, 0.5]])


STRUCTURES = [
    rocksalt("Na", "Cl", 5.64),
    rocksalt("Mg", "O", 4.21),
    rocksalt("K", "Br", 6.6),
    from_spacegroup("P4_2/mnm", Lattice.tetragonal(4.59, 2.96), ["Ti", "O"], [[0, 0, 0], [0.305, 0.305, 0]]),
    from_spacegroup("Fd-3m", Lattice.cubic(5.43), ["Si"], [[0.125, 0.125, 0.125]]),
]


@pytest.fixture(scope="module")
def library() -> list:
    return [compute_reflections(s, CU1, GRID.stop) for s in STRUCTURES]


def untrained_model(n_classes: int) -> Identifier:
    torch.manual_seed(0)
    return Identifier(n_classes, **ARCH).eval()


def test_demo_library_shards_split_the_listing_contiguously(tmp_path: Path) -> None:
    for number in range(10):
        (tmp_path / f"cif-{number:02d}.cif").write_text("x")
    shards = [shard_cifs("demo_library", tmp_path, f"{s:05d}", 4)[0] for s in range(4)]
    assert [len(paths) for paths in shards] == [3, 3, 3, 1]
    assert [Path(p).name for paths in shards for p in paths] == [f"cif-{n:02d}.cif" for n in range(10)]
    # More shards than CIFs: the extra shards are empty, not an error.
    assert shard_cifs("demo_library", tmp_path, "00011", 12) == ([], [])


def test_cod_shards_pass_fetch_rejects_on_and_convert_the_rest(tmp_path: Path) -> None:
    write_cif(STRUCTURES[0], tmp_path / "cod-1.cif")
    (tmp_path / "cod-3.cif").write_text("data_broken\n_cell_length_a 5.0\nloop_\n_atom_site_label\n")
    fetched = pd.DataFrame(
        [
            {"source_id": "cod-1", "url": "u1", "path": str(tmp_path / "cod-1.cif"), "status": "fetched", "reason": ""},
            {"source_id": "cod-2", "url": "u2", "path": "", "status": "rejected", "reason": "missing: 404"},
            {"source_id": "cod-3", "url": "u3", "path": str(tmp_path / "cod-3.cif"), "status": "present", "reason": ""},
        ]
    )
    fetched.to_csv(tmp_path / "fetch.csv", index=False)
    paths, rejected = shard_cifs("cod_list", tmp_path / "fetch.csv", "00000")
    assert [Path(p).name for p in paths] == ["cod-1.cif", "cod-3.cif"]
    phases, caches, rejects = convert_cifs(paths, CU1, GRID.stop, rejected)
    assert phases["source_id"].tolist() == ["cod-1"] and len(caches) == 1
    assert rejects["source_id"].tolist() == ["cod-2", "cod-3"]
    assert rejects["reason"].iloc[0] == "missing: 404"
    assert shard_cifs("user", str(tmp_path / "cod-1.cif"), "00000") == ([str(tmp_path / "cod-1.cif")], [])


def test_library_merge_drops_repeated_phase_ids_with_their_caches(library: list) -> None:
    def table(ids: list[str]) -> pd.DataFrame:
        return pd.DataFrame({"phase_id": ids, "formula": ids, "spacegroup": "x", "source_id": ids})

    rejects = pd.DataFrame([{"source_id": "bad", "path": "bad.cif", "reason": "unparsable"}])
    phases, caches, merged_rejects = merge_library(
        [table(["a", "b"]), table(["b", "c"])], [library[:2], library[2:4]], [rejects, rejects.iloc[:0]]
    )
    assert phases["phase_id"].tolist() == ["a", "b", "c"]
    assert caches == [library[0], library[1], library[3]]
    assert merged_rejects["source_id"].tolist() == ["bad"]
    with pytest.raises(ValueError, match="at least 2"):
        merge_library([table(["a"]), table(["a"])], [library[:1], library[1:2]], [])


def test_training_set_has_its_copies_per_phase_from_separate_seed_streams(library: list) -> None:
    arrays = training_set(
        library[:3],
        GRID,
        CU1,
        AUGMENTATION,
        PREPROCESSING,
        copies=4,
        validation_copies=2,
        seed=5,
        split="copy",
        threads=2,
    )
    assert arrays["train_x"].shape == (12, GRID.size) and arrays["validation_x"].shape == (6, GRID.size)
    assert arrays["train_y"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert arrays["validation_y"].tolist() == [0, 0, 1, 1, 2, 2]
    assert not np.allclose(arrays["train_x"][:2], arrays["validation_x"][:2])
    again = training_set(
        library[:3], GRID, CU1, AUGMENTATION, PREPROCESSING, copies=4, validation_copies=2, seed=5, split="copy"
    )
    assert np.array_equal(again["train_x"], arrays["train_x"])  # seeded, whatever the thread count
    other = training_set(
        library[:3], GRID, CU1, AUGMENTATION, PREPROCESSING, copies=4, validation_copies=2, seed=5, split="structure"
    )
    assert not np.array_equal(other["train_x"], arrays["train_x"])


def test_training_history_has_the_project_columns_and_the_model_round_trips(library: list, tmp_path: Path) -> None:
    arrays = training_set(
        library, GRID, CU1, AUGMENTATION, PREPROCESSING, copies=4, validation_copies=2, seed=1, split="copy"
    )
    training = {"epochs": 2, "batch_size": 8, "learning_rate": 0.01, "weight_decay": 0.0}
    model, history = train_identifier(
        arrays["train_x"],
        arrays["train_y"],
        (arrays["validation_x"], arrays["validation_y"]),
        n_classes=len(library),
        architecture=ARCH,
        training=training,
        seed=1,
        device=CPU,
    )
    # The names particles' training history uses, then xrd's own.
    assert history.columns.tolist() == [
        "epoch",
        "learning_rate",
        "train_loss",
        "train_accuracy",
        "val_loss",
        "val_accuracy",
        "adacos_scale",
        "epoch_s",
    ]
    assert history.columns[: len(HISTORY_COLUMNS)].tolist() == HISTORY_COLUMNS
    assert history["epoch"].tolist() == [1, 2]
    # One-cycle schedule: the first epoch starts at a 25th of the peak learning rate.
    assert history["learning_rate"].iloc[0] == pytest.approx(0.01 / 25)
    assert (history["val_loss"] > 0).all() and history["val_accuracy"].between(0, 1).all()
    save_identifier(model, ARCH, np.arange(len(library)), tmp_path / "model.pt")
    loaded, classes = load_identifier(tmp_path / "model.pt", CPU)
    cosine = loaded.head.cosine(loaded.backbone(torch.as_tensor(arrays["validation_x"]))).detach().numpy()
    assert float((cosine.argmax(1) == arrays["validation_y"]).mean()) == pytest.approx(history["val_accuracy"].iloc[-1])
    assert classes.tolist() == list(range(len(library)))
    figure = learning_curves({"copy": history})
    assert len(figure.axes) == 3 and len(figure.axes[1].lines) == 2


def test_evaluation_protocol_sizes_and_examples(library: list) -> None:
    evaluation = dict(CONFIG["evaluation"], test_copies=2, strengths=[0.5, 2.0], strength_copies=1, examples=3)
    evaluation["hard"] = dict(evaluation["hard"], copies=2)
    evaluation["structure_split_fraction"] = 0.4
    settings = EvaluationSettings.from_config(evaluation)
    model = untrained_model(len(library))
    kwargs = {"grid": GRID, "wavelength": CU1, "augmentation": AUGMENTATION, "settings": settings, "seed": 3}
    kwargs["preprocessing"] = PREPROCESSING
    result = evaluate_identifier(library, model, CPU, structure_model=untrained_model(3), **kwargs)
    metrics = result.metrics.set_index(["set", "method", "metric"])
    n = len(library)
    assert metrics.loc[("held-out augmentations", "classifier", "top1"), "n"] == n * 2
    assert metrics.loc[("partial range", "classifier", "top1"), "n"] == n * 2
    assert metrics.loc[("hard", "prototype", "top1"), "n"] == n * 2
    assert metrics.loc[("held-out structures", "prototype", "top1"), "n"] == 2 * 2  # 40 % of 5 phases, 2 copies
    # Five phases: the right one is always among the best five, so no top-5 is reported.
    assert set(result.metrics["metric"]) == {"top1"} and set(result.strength["metric"]) == {"top1"}
    assert result.strength["strength"].tolist() == [0.5, 2.0]
    examples = result.examples
    assert examples["patterns"].shape == (3, GRID.size) and examples["top5"].shape == (3, 5)
    fwhm = float(np.mean(AUGMENTATION["profile"]["instrument_fwhm"]))
    best = int(examples["top5"][0, 0])
    reference = network_inputs(clean_pattern(library[best], GRID, CU1, fwhm)[None], GRID, PREPROCESSING)[0]
    assert np.allclose(examples["references"][0, 0], reference)
    assert (np.diff(examples["scores"], axis=1) <= 0).all()
    again = evaluate_identifier(library, model, CPU, **kwargs)
    assert again.metrics.equals(result.metrics[result.metrics["set"] != "held-out structures"].reset_index(drop=True))


def test_demo_queries_are_identified_by_folder_and_the_broken_file_is_rejected(library: list, tmp_path: Path) -> None:
    names = write_demo_queries(library, tmp_path, queries=4, wavelength=CU1, augmentation=AUGMENTATION, seed=2)
    assert len(names) == 5 and names[-1] == BROKEN_QUERY
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    assert "_mixture" in names[0] and not any("_mixture" in n for n in names[1:])
    assert [Path(n).suffix for n in names[:4]] == [".xy", ".xye", ".csv", ".xy"]
    two_theta, _ = read_measured_pattern(tmp_path / names[2])
    assert 8 <= two_theta[0] <= 15 and two_theta[-1] == pytest.approx(85, abs=0.05)
    # With as many candidates as phases the whole-pattern fit examines every phase: an untrained ranking still
    # names the right one first.
    settings = IdentifySettings.from_config(CONFIG["identify"], "all")
    phases = pd.DataFrame(
        {
            "phase_id": [f"p{i}" for i in range(len(library))],
            "formula": "x",
            "spacegroup": "y",
            "source_id": "z",
            "cell_mass": [s.composition.weight for s in STRUCTURES],
        }
    )
    classes = np.arange(len(library))
    model = untrained_model(len(library))
    table, rejects = identify_folder(
        tmp_path,
        library,
        phases,
        model,
        classes,
        CPU,
        grid=GRID,
        wavelength=CU1,
        settings=settings,
        preprocessing=PREPROCESSING,
        confidence_map=ConfidenceMap((0.0,) * 4, (1.0,) * 4, (1.0, 0.0, 0.0, 0.0), -5.0),
    )
    assert rejects["query"].tolist() == [BROKEN_QUERY] and "non-numeric" in rejects["reason"].iloc[0]
    # the confidence of a reported phase, sigmoid(log F - 5) here, is the same on its component's alternatives
    assert (
        table["confidence"].between(0, 1).all()
        and table.groupby(["query", "component"])["confidence"].nunique().eq(1).all()
    )
    first = table[(table["component"] == 1) & (table["rank"] == 1)].set_index("query")["phase_id"]
    expected = {name: f"p{int(name.split('phase')[1][:3])}" for name in names[:4]}
    assert first.to_dict() == expected
    assert table.groupby(["query", "component"])["rank"].max().eq(settings.top_k).all()


def test_calibration_runs_the_identification_on_simulated_mixtures_with_known_truth(library: list) -> None:
    phases = pd.DataFrame(
        {
            "phase_id": [f"p{i}" for i in range(len(library))],
            "formula": [s.composition.reduced_formula for s in STRUCTURES],
            "spacegroup": [f"sg{i}" for i in range(len(library))],
            "cell_mass": [s.composition.weight for s in STRUCTURES],
        }
    )
    settings = CalibrationSettings(mixtures=6, max_phases=2, open_fraction=0.5, held_out=0.5, bins=5)
    calibration = calibrate_identifier(
        library,
        phases,
        untrained_model(len(library)),
        np.arange(len(library)),
        CPU,
        grid=GRID,
        wavelength=CU1,
        augmentation=AUGMENTATION,
        identify=IdentifySettings.from_config(CONFIG["identify"], "all"),
        preprocessing=PREPROCESSING,
        settings=settings,
        seed=4,
        processes=2,
    )
    mixtures = calibration.mixtures
    assert set(mixtures["mixture"]) <= set(range(6)) and mixtures["held_out"].any() and (~mixtures["held_out"]).any()
    # a phase withheld from the candidates is never reported, so reported phases of closed mixtures are all present
    # unless the fit adds a wrong one; the map gives probabilities and the summary counts what it was measured on
    assert mixtures.loc[~mixtures["withheld"], "present"].mean() >= 0.5
    assert mixtures["confidence"].between(0, 1).all()
    assert calibration.summary["held_out_phases"] == int(mixtures["held_out"].sum())
    assert calibration.reliability["count"].sum() == calibration.summary["held_out_phases"]
