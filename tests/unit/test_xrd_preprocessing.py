"""Measured patterns as the network sees them: symmetry-true strain, one preprocessing for training patterns and
queries, odd files rejected one by one (never sinking the batch), small libraries in the demo-query step."""

from __future__ import annotations

import copy
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from pymatgen.core import Lattice, Structure

from fingerprintml.xrd.augment import augmented_set, augmented_sticks
from fingerprintml.xrd.demo import BROKEN_QUERY, write_demo_queries
from fingerprintml.xrd.evaluate import accuracy_rows
from fingerprintml.xrd.identify import IdentifySettings, identify_folder, prepare_query
from fingerprintml.xrd.library import from_spacegroup
from fingerprintml.xrd.model import Identifier
from fingerprintml.xrd.patterns import Grid, Preprocessing, crop_ranges, network_inputs, read_measured_pattern
from fingerprintml.xrd.reflections import compute_reflections
from fingerprintml.xrd.structures import strain_modes

REPO = Path(__file__).resolve().parents[2]
CU1 = 1.540562
GRID = Grid(10.0, 90.0, 0.1)
CONFIG = yaml.safe_load((REPO / "config.yaml").read_text())["xrd"]
PREPROCESSING = Preprocessing.from_config(CONFIG["preprocessing"])
ARCH = {"stem_width": 8, "stem_kernel": 9, "stem_stride": 4, "widths": [8, 16], "depths": [1, 1],
        "group_width": 4, "se_ratio": 0.25, "embedding": 16}  # fmt: skip


def strain_only(maximum: float) -> dict:
    """The configured augmentation with every effect but strain switched off."""
    settings = copy.deepcopy(CONFIG["augmentation"])
    for effect in ["debye_waller", "crystallite_size", "kalpha2", "preferred_orientation", "peak_scaling"]:
        settings[effect]["enabled"] = False
    settings["zero_shift"]["enabled"] = False
    settings["strain"] = {"enabled": True, "max": maximum}
    return settings


def bragg_two_theta(d: float) -> float:
    return math.degrees(2 * math.asin(CU1 / (2 * d)))


def sticks_at(refl, two_theta_unstrained: float, two_theta: np.ndarray) -> np.ndarray:
    """The strained two-theta (copies, n) of the cached points whose unstrained peak lies at the given angle."""
    unstrained = np.degrees(2 * np.arcsin(CU1 * np.sqrt(refl.unstrained[0])))
    return two_theta[:, np.abs(unstrained - two_theta_unstrained) < 1e-6]


def test_strain_keeps_cubic_reflections_together_and_splits_tetragonal_a_from_c() -> None:
    # The primitive rocksalt cell (a = 4 A), as CIFs are read: {400} near 100.8 deg at Cu K-alpha1 is one peak
    # however the cell is strained (a full random tensor split it by a median 0.55 deg at 0.4 %).
    cubic = from_spacegroup("Fm-3m", Lattice.cubic(4.0), ["Mg", "O"], [[0, 0, 0], [0.5, 0.5, 0.5]])
    refl = compute_reflections(cubic.get_primitive_structure(), CU1, 110).allowed
    assert refl.crystal_system == "cubic" and len(refl.strain_modes) == 1
    two_theta, _, _ = augmented_sticks(refl, CU1, strain_only(0.004), np.random.default_rng(1), 500)
    family = sticks_at(refl, bragg_two_theta(1.0), two_theta[:, : len(refl.hkl)].astype(float))
    assert family.shape[1] == 3  # (400), (040), (004) of the conventional cell, in primitive indices
    assert np.ptp(family, axis=1).max() < 1e-3  # single precision sticks
    assert np.ptp(family[:, 0]) > 0.5  # the isotropic strain does move the peak: +-0.4 % ~ +-0.7 deg here
    # Rutile-type tetragonal cell: (400) and (040) stay together, (002) moves with c independently of a.
    tetragonal = from_spacegroup("P4_2/mnm", Lattice.tetragonal(4.59, 2.96), ["Ti", "O"], [[0, 0, 0], [0.3, 0.3, 0]])
    refl = compute_reflections(tetragonal, CU1, 110).allowed
    assert refl.crystal_system == "tetragonal" and len(refl.strain_modes) == 2
    two_theta, _, _ = augmented_sticks(refl, CU1, strain_only(0.004), np.random.default_rng(2), 500)
    two_theta = two_theta[:, : len(refl.hkl)].astype(float)
    a_family = sticks_at(refl, bragg_two_theta(4.59 / 4), two_theta)
    c_family = sticks_at(refl, bragg_two_theta(2.96 / 2), two_theta)
    assert a_family.shape[1] == 2 and c_family.shape[1] == 1
    assert np.ptp(a_family, axis=1).max() < 1e-3
    strain_a = np.sin(np.radians(bragg_two_theta(4.59 / 4) / 2)) / np.sin(np.radians(a_family[:, 0] / 2)) - 1
    strain_c = np.sin(np.radians(bragg_two_theta(2.96 / 2) / 2)) / np.sin(np.radians(c_family[:, 0] / 2)) - 1
    assert abs(np.corrcoef(strain_a, strain_c)[0, 1]) < 0.2  # a and c strained independently
    assert np.abs(strain_a).max() == pytest.approx(0.004, abs=3e-4)


@pytest.mark.parametrize(
    ("lattice", "system", "free"),
    [
        (Lattice.cubic(4.0), "cubic", 1),
        (Lattice.hexagonal(3.0, 5.0), "hexagonal", 2),
        (Lattice.tetragonal(3.0, 5.0), "tetragonal", 2),
        (Lattice.orthorhombic(3.0, 4.0, 5.0), "orthorhombic", 3),
        (Lattice.monoclinic(3.0, 4.0, 5.0, 100.0), "monoclinic", 4),
        (Lattice.from_parameters(3.0, 4.0, 5.0, 80.0, 95.0, 103.0), "triclinic", 6),
    ],
)
def test_the_strains_a_lattice_allows_are_its_free_cell_parameters(lattice: Lattice, system: str, free: int) -> None:
    found, modes = strain_modes(Structure(lattice, ["Cu"], [[0, 0, 0]]))
    assert found == system and modes.shape == (free, 3, 3)
    assert np.allclose(modes, modes.transpose(0, 2, 1)) and np.allclose(np.abs(modes).max(axis=(1, 2)), 1)
    # Each mode strains the cell into one of the same system (spglib finds the same lattice symmetry).
    for mode in modes:
        strained = Structure(Lattice(lattice.matrix @ (np.eye(3) + 0.02 * mode)), ["Cu"], [[0, 0, 0]])
        assert strain_modes(strained)[0] == system


@pytest.fixture(scope="module")
def library() -> list:
    structures = [
        from_spacegroup("Fm-3m", Lattice.cubic(a), [m, x], [[0, 0, 0], [0.5, 0.5, 0.5]])
        for m, x, a in [("Na", "Cl", 5.64), ("Mg", "O", 4.21), ("K", "Br", 6.6)]
    ]
    structures.append(
        from_spacegroup("P4_2/mnm", Lattice.tetragonal(4.59, 2.96), ["Ti", "O"], [[0, 0, 0], [0.305, 0.305, 0]])
    )
    return [compute_reflections(s, CU1, GRID.stop) for s in structures]


def test_a_training_pattern_written_and_read_back_as_a_query_gives_the_same_network_input(
    library: list, tmp_path: Path
) -> None:
    rng = np.random.default_rng(4)
    raw = augmented_set(library, np.arange(4), GRID, CU1, CONFIG["augmentation"], rng)
    every_copy_cut = Preprocessing(True, PREPROCESSING.smoothness, crop_fraction=1.0, crop_max=0.3)
    ranges = crop_ranges(4, GRID, every_copy_cut, rng)
    ranges[0] = (0, GRID.size)  # one over the whole grid
    training = network_inputs(raw, GRID, PREPROCESSING, ranges)
    for row, (first, stop) in enumerate(ranges):
        path = tmp_path / f"pattern{row}.xy"
        counts = 5000 * raw[row, first:stop]  # an instrument's counts: the scale does not matter
        lines = [f"{float(t)!r} {float(c)!r}\n" for t, c in zip(GRID.two_theta[first:stop], counts, strict=True)]
        path.write_text("".join(lines))
        query = prepare_query(*read_measured_pattern(path), GRID, CU1, CU1, PREPROCESSING)
        np.testing.assert_allclose(query, training[row], atol=1e-5)
        assert (query[:first] == 0).all() and (query[stop:] == 0).all() and query.max() == 1
    assert (ranges[1:, 0] > 0).all() or (ranges[1:, 1] < GRID.size).all()


def write_pattern(path: Path, two_theta: np.ndarray, intensity: np.ndarray) -> None:
    path.write_text("".join(f"{t:.4f} {c:.3f}\n" for t, c in zip(two_theta, intensity, strict=True)))


def test_odd_patterns_are_each_rejected_by_name_and_the_good_ones_identified(
    library: list, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 23, item 4: a d-spacing axis, zero or negative intensities and too few points each get a rejects row
    with the file's name and the reason; the others are identified; the log's counts match the tables."""
    write_demo_queries(library, tmp_path, queries=2, wavelength=CU1, augmentation=CONFIG["augmentation"], seed=2)
    two_theta, counts = read_measured_pattern(next(tmp_path.glob("query_01_*")))
    d_spacing = CU1 / (2 * np.sin(np.radians(two_theta / 2)))
    write_pattern(tmp_path / "d_decreasing.xy", d_spacing, counts)
    write_pattern(tmp_path / "d_increasing.xy", d_spacing[::-1], counts[::-1])
    write_pattern(tmp_path / "beyond_180.xy", two_theta * 3, counts)
    write_pattern(tmp_path / "zeros.xy", two_theta, 0 * counts)
    write_pattern(tmp_path / "negative.xy", two_theta, -counts)
    write_pattern(tmp_path / "third_negative.xy", two_theta, counts - np.quantile(counts, 1 / 3))
    write_pattern(tmp_path / "few.xy", two_theta[:5], counts[:5])
    settings = IdentifySettings.from_config(CONFIG["identify"], "all")
    phases = pd.DataFrame(
        {"phase_id": [f"p{i}" for i in range(4)], "formula": "x", "spacegroup": "y", "cell_mass": 100.0}
    )
    torch.manual_seed(0)
    model = Identifier(len(library), **ARCH).eval()
    with caplog.at_level(logging.INFO, logger="fingerprintml.xrd.identify"):
        table, rejects = identify_folder(
            tmp_path,
            library,
            phases,
            model,
            np.arange(4),
            torch.device("cpu"),
            grid=GRID,
            wavelength=CU1,
            settings=settings,
            preprocessing=PREPROCESSING,
        )
    reasons = rejects.set_index("query")["reason"].to_dict()
    expected = {
        "d_decreasing.xy": "does not increase",
        "d_increasing.xy": "covers 4 points of the model's grid 10-90 deg",
        "beyond_180.xy": "outside (0, 180)",
        "zeros.xy": "every intensity is <= 0",
        "negative.xy": "every intensity is <= 0",
        "third_negative.xy": "31% of the intensities are negative",
        "few.xy": "only 5 data points",
        BROKEN_QUERY: "non-numeric",
    }
    assert sorted(reasons) == sorted(expected)
    for name, reason in expected.items():
        assert reasons[name].startswith(f"{name}: ") and reason in reasons[name], reasons[name]
    assert sorted(table["query"].unique()) == sorted(p.name for p in tmp_path.glob("query_0*"))
    assert f"2 patterns identified, {len(expected)} rejected" in caplog.text


def test_small_libraries_get_fewer_demo_queries_and_no_trivial_top5(
    library: list, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 23, item 8: four phases and six demo queries asked for: four queries with a word in the log, and no
    top-5 (any five of four phases hold the right one)."""
    with caplog.at_level(logging.WARNING, logger="fingerprintml.xrd.demo"):
        names = write_demo_queries(
            library, tmp_path, queries=6, wavelength=CU1, augmentation=CONFIG["augmentation"], seed=2
        )
    assert len(names) == 5 and names[-1] == BROKEN_QUERY
    assert "the library has 4 phases: 4 demo queries of distinct phases instead of 6" in caplog.text
    scores = np.random.default_rng(0).random((8, 4))
    rows = accuracy_rows("held-out augmentations", "copy", "classifier", scores, np.arange(8) % 4)
    assert [row["metric"] for row in rows] == ["top1"]
    six = accuracy_rows("held-out augmentations", "copy", "classifier", np.eye(6), np.arange(6))
    assert [(row["metric"], row["value"]) for row in six] == [("top1", 1.0), ("top5", 1.0)]
