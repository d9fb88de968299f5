"""The bootstrap over catalogues and models: a planted motif in a physically simulated catalogue is found with
in-motif probability near 1 (decoys near 0), a catalogue whose Rw ignores the atoms gives no confident motif, and
the per-atom summary is the percentile interval and the fraction of repeats."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fingerprintml.io import read_table, write_table
from fingerprintml.motifs.catalogue import build_catalogue, masks_to_table
from fingerprintml.motifs.confidence import BootstrapSettings, bootstrap_motif
from fingerprintml.motifs.debye import PDFSettings
from fingerprintml.motifs.demo import GeneratorSettings, generate
from fingerprintml.motifs.fitting import FitSettings, fit_masks
from fingerprintml.motifs.motif import summarise_bootstrap

PDF = PDFSettings(qmin=0.7, qmax=20.0, qdamp=0.05, qbroad=0.01, biso_default=0.4, qstep=0.05)
FIT = FitSettings(rmin=1.6, rmax=10.0, zoom_min=0.99, zoom_max=1.01)
MEASUREMENT = {"qmin": 0.8, "qmax": 18.0, "qdamp": 0.04, "biso": 0.5, "delta1": 0.5, "qbroad": 0.02}
GENERATOR = {"decoys": 3, "scale": 1.3, "zoom": 1.004, "noise": 0.02, "rmax": 12.0, "rstep": 0.01}
GENERATOR["measurement"] = MEASUREMENT
METRICS = {
    "params": {"max_depth": 3, "learning_rate": 0.1, "subsample": 0.8, "colsample_bytree": 0.8},
    "n_estimators": 150,
}
SETTINGS = BootstrapSettings(repeats=8, shap_rows=400)
LEVEL = 0.9


@pytest.fixture(scope="module")
def fitted():
    """The demo's cluster (Keggin + 3 decoy octahedra), the noisy PDF of the Keggin alone and 500 fitted cut-outs."""
    data = generate(GeneratorSettings.from_config(GENERATOR), np.random.default_rng(3))
    masks = build_catalogue(data.cluster, ["W"], 2.5, 500, np.random.default_rng(4))
    catalogue = masks_to_table(masks)
    fits = fit_masks(data.cluster, masks, data.r, data.g, pdf=PDF, fit=FIT, engine="fast")
    fits.insert(0, "cutout", catalogue["cutout"].to_numpy())
    return data, catalogue, fits


def _bootstrap(data, catalogue, fits, seed: int = 7, settings: BootstrapSettings = SETTINGS) -> pd.DataFrame:
    return bootstrap_motif(
        data.cluster,
        catalogue,
        fits,
        METRICS,
        removable=["W"],
        cutoff=2.5,
        spread_factor=1.0,
        settings=settings,
        seed=seed,
        threads=1,
    )


def test_the_planted_motif_is_certain_and_the_decoys_are_not_in_it(fitted) -> None:
    data, catalogue, fits = fitted
    table = _bootstrap(data, catalogue, fits)
    assert len(table) == SETTINGS.repeats * len(data.cluster)
    summary = summarise_bootstrap(table, LEVEL).set_index("index")
    w = np.flatnonzero(data.cluster.elements == "W")
    planted_w, decoy_w = w[data.planted[w]], w[~data.planted[w]]
    assert (summary.loc[planted_w, "p_in_motif"] >= 0.9).all()
    assert (summary.loc[decoy_w, "p_in_motif"] <= 0.1).all()
    # The intervals separate the two kinds of W: kept Keggin W lower Rw, kept decoys raise it.
    assert (summary.loc[planted_w, "acv_high"] < 0).all() and (summary.loc[decoy_w, "acv_low"] > 0).all()
    assert (summary.loc[w, "acv_low"] <= summary.loc[w, "acv_high"]).all()
    # Every planted atom (O too, through its bonds to a motif W) is in the motif in most repeats.
    assert summary.loc[np.flatnonzero(data.planted), "p_in_motif"].min() >= 0.9
    pd.testing.assert_frame_equal(table, _bootstrap(data, catalogue, fits))


def test_rw_that_ignores_the_atoms_gives_no_confident_motif(fitted) -> None:
    data, catalogue, fits = fitted
    shuffled = fits.assign(rw=np.random.default_rng(5).permutation(fits["rw"].to_numpy()))
    summary = summarise_bootstrap(_bootstrap(data, catalogue, shuffled), LEVEL)
    w = np.flatnonzero(data.cluster.elements == "W")
    assert (summary.loc[w, "p_in_motif"] < 0.9).all()
    # The intervals of most W straddle zero: no atom's effect is resolved.
    straddles = (summary.loc[w, "acv_low"] < 0) & (summary.loc[w, "acv_high"] > 0)
    assert straddles.mean() >= 0.5


def test_summary_is_the_percentile_interval_and_the_fraction_in_the_motif(tmp_path) -> None:
    acv = np.arange(1.0, 11.0)
    table = pd.DataFrame(
        {
            "repeat": np.tile(np.arange(10), 2),
            "index": np.repeat([0, 1], 10),
            "acv": np.concatenate([acv, np.full(10, np.nan)]),
            "in_motif": [True] * 7 + [False] * 3 + [False] * 10,
        }
    )
    # As the atoms rule reads it: written and read back (a missing ACV is an empty string).
    write_table(table, tmp_path / "bootstrap.csv")
    summary = summarise_bootstrap(read_table(tmp_path / "bootstrap.csv"), 0.8).set_index("index")
    assert summary.loc[0, "acv_low"] == pytest.approx(np.percentile(acv, 10))
    assert summary.loc[0, "acv_high"] == pytest.approx(np.percentile(acv, 90))
    assert summary.loc[0, "p_in_motif"] == pytest.approx(0.7)
    assert np.isnan(summary.loc[1, "acv_low"]) and summary.loc[1, "p_in_motif"] == 0.0
    with pytest.raises(ValueError, match="in_motif"):
        summarise_bootstrap(table.drop(columns="in_motif"), 0.9)
    with pytest.raises(ValueError, match="level"):
        summarise_bootstrap(table, 1.5)


def test_the_bootstrap_needs_two_repeats(fitted) -> None:
    data, catalogue, fits = fitted
    with pytest.raises(ValueError, match="at least 2 repeats"):
        _bootstrap(data, catalogue, fits, seed=0, settings=BootstrapSettings(repeats=1, shap_rows=100))
