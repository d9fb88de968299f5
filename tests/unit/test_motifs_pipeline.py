"""The workflow's steps as package functions: generated datasets, shard fits against one whole fit, gathering the
shards, the motif from a catalogue's SHAP values, the figures by name."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from fingerprintml.motifs.catalogue import build_catalogue, cutout_features, masks_to_table
from fingerprintml.motifs.debye import PDFSettings, debye_gr
from fingerprintml.motifs.demo import (
    GeneratorSettings,
    MeasurementSettings,
    fourier_noise,
    generate,
    keggin_with_decoys,
    realspace_gr,
)
from fingerprintml.motifs.figures import FIGURE_INPUTS, draw
from fingerprintml.motifs.fitting import FitSettings, fit_masks, rw
from fingerprintml.motifs.motif import atom_table, extract_motif
from fingerprintml.motifs.pipeline import fit_shard, gather_fits
from fingerprintml.motifs.structure import Cluster
from fingerprintml.motifs.tables import CONFIDENCE_COLUMNS
from fingerprintml.shards import shard_names, shard_slice

PDF = PDFSettings(qmin=0.7, qmax=20.0, qdamp=0.05, qbroad=0.01, biso_default=0.4, qstep=0.05)
FIT = FitSettings(rmin=1.6, rmax=10.0, zoom_min=0.99, zoom_max=1.01)
MEASUREMENT = {"qmin": 0.8, "qmax": 18.0, "qdamp": 0.04, "biso": 0.5, "delta1": 0.5, "qbroad": 0.02}
GENERATOR = {
    "decoys": 2,
    "scale": 1.3,
    "zoom": 1.004,
    "noise": 0.0,
    "rmax": 12.0,
    "rstep": 0.01,
    "measurement": MEASUREMENT,
}


@pytest.fixture(scope="module")
def generated():
    return generate(GeneratorSettings.from_config(GENERATOR), np.random.default_rng(0))


def test_generated_dataset_is_the_keggin_plus_decoys_and_the_pdf_of_the_keggin_alone(generated) -> None:
    # 12 W + 40 O planted; each decoy adds one W and five O.
    assert len(generated.cluster) == 52 + 2 * 6
    assert generated.planted.sum() == 52
    assert generated.r[0] == 0.0 and generated.r[-1] == pytest.approx(12.0)
    assert np.diff(generated.r) == pytest.approx(0.01)
    keggin = generated.cluster.subset(generated.planted)
    zoomed = Cluster(keggin.elements, keggin.xyz * 1.004)
    expected = 1.3 * realspace_gr(zoomed, generated.r, MeasurementSettings(**MEASUREMENT))
    np.testing.assert_allclose(generated.g, expected)
    table = generated.planted_table()
    assert list(table.columns) == ["index", "planted"] and table["planted"].sum() == 52
    assert "zoom 1.004" in generated.header and "Qbroad 0.02" in generated.header


def test_the_real_space_engine_agrees_with_the_debye_engine_on_shared_settings() -> None:
    """With the fit's Q range, Qdamp and Biso, no correlated motion and one element (where the demo's Z weights and
    the fit's f(Q) weights normalise to the same G(r)), the demo's real-space Gaussian peaks and the fit's Debye sum
    are the same PDF (the Debye form has 1/d_ij where PDFfit2's has 1/r: a percent-level difference); so a misfit of
    the demo data comes from the settings it does not share: its weights, Q range, Qdamp, Biso and peak width."""
    keggin = keggin_with_decoys(0)[0]
    tungsten = keggin.subset(keggin.elements == "W")
    r = np.round(np.arange(0.0, 12.0 + 1e-9, 0.01), 6)
    shared = MeasurementSettings(qmin=0.7, qmax=20.0, qdamp=0.05, biso=0.4, delta1=0.0, qbroad=0.0)
    pdf = PDFSettings(qmin=0.7, qmax=20.0, qdamp=0.05, qbroad=0.0, biso_default=0.4, qstep=0.01)
    window = (r >= 1.6) & (r <= 10.0)
    real_space = realspace_gr(tungsten, r, shared)[window]
    debye = debye_gr(tungsten.xyz, tungsten.elements, pdf, r)[window]
    scale = (real_space @ debye) / (debye @ debye)
    assert scale == pytest.approx(1.0, abs=0.05)
    assert rw(real_space, scale * debye) < 0.05
    # The demo's own measurement of the whole cluster (Z weights, Qmax 18, delta1, Qbroad 0.02) is well away from
    # the fit's model of it.
    own = realspace_gr(keggin, r, MeasurementSettings(**MEASUREMENT))[window]
    model = debye_gr(keggin.xyz, keggin.elements, pdf, r)[window]
    assert rw(own, (own @ model) / (model @ model) * model) > 2 * rw(real_space, scale * debye)


def test_noise_is_white_in_q_and_correlated_over_r() -> None:
    settings = MeasurementSettings(**MEASUREMENT)
    r = np.round(np.arange(0.0, 30.0 + 1e-9, 0.01), 6)
    rng = np.random.default_rng(1)
    draws = np.array([fourier_noise(r, settings, 0.05, rng) for _ in range(40)])
    assert draws.std(axis=1) == pytest.approx(0.05)
    inner = draws[:, 500:2500]  # away from r = 0, where every sine vanishes
    span = settings.qmax - settings.qmin
    for lag in (5, 10, 20, 30):  # 0.05 to 0.3 A
        d = lag * 0.01
        measured = np.mean([np.corrcoef(row[:-lag], row[lag:])[0, 1] for row in inner])
        expected = (np.sin(settings.qmax * d) - np.sin(settings.qmin * d)) / (span * d)
        assert measured == pytest.approx(expected, abs=0.05)
    # Neighbouring points are strongly correlated, unlike white noise in r.
    assert np.mean([np.corrcoef(row[:-5], row[5:])[0, 1] for row in inner]) > 0.8
    noisy = generate(GeneratorSettings.from_config({**GENERATOR, "noise": 0.05}), np.random.default_rng(1))
    clean = generate(GeneratorSettings.from_config(GENERATOR), np.random.default_rng(1))
    assert (noisy.g - clean.g).std() == pytest.approx(0.05 * np.abs(clean.g).max(), rel=1e-6)


def test_shards_together_are_the_whole_catalogue_fitted_at_once(generated) -> None:
    masks = build_catalogue(generated.cluster, ["W"], 2.5, 7, np.random.default_rng(2))
    catalogue = masks_to_table(masks)
    names = shard_names(len(catalogue), 3)
    assert names == ["00000", "00001", "00002"]
    shards = [
        fit_shard(
            generated.cluster,
            catalogue,
            shard_slice(name, len(catalogue), 3),
            generated.r,
            generated.g,
            pdf=PDF,
            fit=FIT,
            engine="fast",
        )
        for name in names
    ]
    assert [len(s) for s in shards] == [3, 3, 1]
    whole = fit_masks(generated.cluster, masks, generated.r, generated.g, pdf=PDF, fit=FIT, engine="fast")
    gathered = gather_fits(catalogue, shards[::-1])
    assert list(gathered["cutout"]) == list(range(7))
    np.testing.assert_array_equal(gathered["n_atoms"], masks.sum(axis=1))
    np.testing.assert_allclose(gathered["rw"], whole["rw"], rtol=1e-5)


def test_gather_rejects_a_missing_or_doubled_cutout() -> None:
    catalogue = pd.DataFrame({"cutout": [0, 1, 2], "n_atoms": [5, 6, 7], "mask": ["1", "1", "1"]})
    first, second = pd.DataFrame({"cutout": [0, 1], "rw": [0.3, 0.2]}), pd.DataFrame({"cutout": [2], "rw": [0.1]})
    assert list(gather_fits(catalogue, [second, first])["rw"]) == [0.3, 0.2, 0.1]
    for shards in ([first], [first, second, second]):
        with pytest.raises(ValueError, match="exactly once"):
            gather_fits(catalogue, shards)


def test_motif_from_a_catalogue_and_its_shap_values() -> None:
    cluster, planted = keggin_with_decoys(2)
    catalogue = masks_to_table(build_catalogue(cluster, ["W"], 2.5, 300, np.random.default_rng(4)))
    features = cutout_features(cluster, catalogue, ["W"])
    w = np.flatnonzero(cluster.elements == "W")
    assert list(features.columns) == [f"atom_{k}" for k in w] + ["n_atoms"]
    # Keggin W (the first 12) lower Rw when kept, decoy W raise it.
    sign = np.where(np.arange(len(w)) < 12, -1.0, 1.0)
    shap_table = pd.DataFrame(
        np.where(features.iloc[:, :-1] == 1, 1.0, -1.0) * sign * 0.05, columns=features.columns[:-1]
    )
    shap_table["n_atoms"] = 0.0
    # Two bootstrap repeats: the first finds the planted motif, the second only its W.
    bootstrap = pd.DataFrame(
        {
            "repeat": np.repeat([0, 1], len(cluster)),
            "index": np.tile(np.arange(len(cluster)), 2),
            "acv": np.tile(np.where(cluster.elements == "W", -0.05, np.nan), 2),
            "in_motif": np.concatenate([planted, planted & (cluster.elements == "W")]),
        }
    )
    options = {"removable": ["W"], "cutoff": 2.5, "spread_factor": 1.0, "bootstrap": bootstrap, "level": 0.9}
    atoms = extract_motif(cluster, catalogue, shap_table, **options)
    np.testing.assert_array_equal(atoms["in_motif"].to_numpy(), planted)
    pd.testing.assert_frame_equal(
        atoms.drop(columns=CONFIDENCE_COLUMNS), atom_table(cluster, features, shap_table, ["W"], 2.5, 1.0)
    )
    expected = np.where(planted, np.where(cluster.elements == "W", 1.0, 0.5), 0.0)
    np.testing.assert_allclose(atoms["p_in_motif"], expected)
    with pytest.raises(ValueError, match="does not match"):
        extract_motif(cluster, catalogue.iloc[:10], shap_table, **options)
    with pytest.raises(ValueError, match="does not cover"):
        extract_motif(cluster, catalogue, shap_table, **{**options, "bootstrap": bootstrap[bootstrap["index"] > 0]})


@pytest.fixture
def figure_inputs(tmp_path: Path) -> dict[str, str]:
    rng = np.random.default_rng(0)
    features = pd.DataFrame({"atom_0": rng.integers(0, 2, 50), "atom_1": rng.integers(0, 2, 50)})
    features["n_atoms"] = features.sum(axis=1) + 3
    shap_table = pd.DataFrame(rng.normal(size=(50, 3)), columns=features.columns)
    atoms = pd.DataFrame(
        {
            "index": [0, 1, 2],
            "element": ["W", "W", "O"],
            "x": [0.0, 3.5, 1.7],
            "y": [0.0, 0.1, 1.0],
            "z": [0.0, 0.2, -0.5],
            "acv": [-0.02, 0.01, np.nan],
            "spread": [0.005, 0.004, np.nan],
            "in_motif": [True, False, True],
            "acv_low": [-0.025, 0.005, np.nan],
            "acv_high": [-0.015, 0.02, np.nan],
            "p_in_motif": [0.95, 0.3, 0.95],
        }
    )
    r = np.linspace(1.6, 10.0, 50)
    profile = pd.DataFrame({"r": r, "gobs": np.sin(r), "gcalc": 0.9 * np.sin(r)})
    profile["difference"] = profile["gobs"] - profile["gcalc"]
    tables = {"features": features, "shap": shap_table, "atoms": atoms, "profile": profile}
    tables["fits"] = pd.DataFrame({"cutout": range(50), "rw": rng.uniform(0.2, 0.8, 50)})
    paths = {}
    for name, table in tables.items():
        paths[name] = str(tmp_path / f"{name}.csv")
        table.to_csv(paths[name], index=False)
    paths["result"] = str(tmp_path / "result.json")
    Path(paths["result"]).write_text(json.dumps({"rw": 0.25, "n_atoms": 2, "scale": 1.0, "zoom": 1.0}))
    return paths


@pytest.mark.parametrize("name", sorted(FIGURE_INPUTS))
def test_every_figure_is_drawn_from_its_own_inputs(name: str, figure_inputs: dict[str, str]) -> None:
    own = {key: figure_inputs[key] for key in FIGURE_INPUTS[name]}
    fig = draw(name, own, max_display=5, spread_factor=1.0)
    try:
        assert fig.axes and any(ax.has_data() for ax in fig.axes)
    finally:
        plt.close(fig)


def test_an_unknown_figure_or_a_missing_input_is_named(figure_inputs: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="rw_histogram"):
        draw("rw_histogram", figure_inputs, max_display=5, spread_factor=1.0)
    with pytest.raises(ValueError, match="profile"):
        draw("motif_fit", {"result": figure_inputs["result"]}, max_display=5, spread_factor=1.0)
