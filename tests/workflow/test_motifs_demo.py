"""The motifs demo end to end: the planted Keggin motif is recovered, outputs are complete and readable, shards rerun
alone, and the paper DAG is built from the declared downloads."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_snakemake

pytestmark = pytest.mark.workflow

RESULTS = Path("results") / "motifs"


@pytest.fixture(scope="module")
def demo(demo_workspace: Path) -> Path:
    return demo_workspace


def test_planted_motif_is_recovered(demo: Path) -> None:
    atoms = pd.read_csv(demo / RESULTS / "atoms.csv")
    planted = pd.read_csv(demo / RESULTS / "demo" / "planted.csv").set_index("index").loc[atoms["index"], "planted"]
    found, truth = atoms["in_motif"].to_numpy(bool), planted.to_numpy(bool)
    hits = (found & truth).sum()
    assert hits / found.sum() >= 0.9, "precision"
    assert hits / truth.sum() >= 0.9, "recall"
    w = (atoms["element"] == "W").to_numpy()
    assert (found[w] & truth[w]).sum() / truth[w].sum() >= 0.9
    # The decoys' ACV is positive on average, the planted W's negative.
    assert atoms.loc[w & truth, "acv"].mean() < 0 < atoms.loc[w & ~truth, "acv"].mean()


def test_model_and_motif_fit_are_good(demo: Path) -> None:
    metrics = json.loads((demo / RESULTS / "model_metrics.json").read_text())
    assert metrics["test"]["r2"] > 0.8
    fit = json.loads((demo / RESULTS / "motif_fit.json").read_text())
    fits = pd.read_csv(demo / RESULTS / "fits.csv")
    assert fit["rw"] <= fits["rw"].min() + 1e-3  # the motif fits at least as well as the best cut-out
    assert fit["zoom"] == pytest.approx(1.004, abs=1e-3)
    profile = pd.read_csv(demo / RESULTS / "motif_fit.csv")
    np.testing.assert_allclose(profile["gobs"] - profile["gcalc"], profile["difference"], atol=1e-6)


def test_structure_outputs_are_readable(demo: Path) -> None:
    from diffpy.structure import loadStructure

    atoms = pd.read_csv(demo / RESULTS / "atoms.csv")
    rows = (demo / RESULTS / "structure_acv.xyz").read_text().splitlines()
    assert int(rows[0]) == len(atoms)
    assert all(len(row.split()) == 7 for row in rows[2:])
    for name, count in (("structure_acv.cif", len(atoms)), ("motif.cif", int(atoms["in_motif"].sum()))):
        structure = loadStructure(str(demo / RESULTS / name))
        assert len(structure) == count
    motif = loadStructure(str(demo / RESULTS / "motif.cif"))
    distances = np.linalg.norm(motif.xyz_cartn[:, None] - motif.xyz_cartn[None], axis=-1)
    expected = atoms.loc[atoms["in_motif"], ["x", "y", "z"]].to_numpy()
    expected_distances = np.linalg.norm(expected[:, None] - expected[None], axis=-1)
    np.testing.assert_allclose(np.sort(distances.ravel()), np.sort(expected_distances.ravel()), atol=1e-3)
    for figure in ("shap_summary", "acv_per_atom", "structure_acv", "rw_distribution", "motif_fit"):
        assert (demo / RESULTS / "figures" / f"{figure}.png").stat().st_size > 5000


def test_a_lost_shard_is_refitted_alone(demo: Path) -> None:
    """A crash during the fits leaves one shard missing and nothing gathered: only that shard is fitted again."""
    lost = [demo / RESULTS / "fits" / "shard_1.csv", demo / RESULTS / "fits.csv"]
    for path in lost:
        shutil.copy2(path, path.with_suffix(".kept"))
        path.unlink()
    try:
        jobs = run_snakemake(demo, "-n", str(RESULTS / "fits.csv")).stdout
        assert jobs.count("rule motifs_fit:") == 1
        assert "shard=1" in jobs and "shard=0" not in jobs
    finally:
        for path in lost:
            shutil.move(path.with_suffix(".kept"), path)


def test_paper_dag_uses_the_declared_downloads(workspace: Path) -> None:
    proc = run_snakemake(workspace, "-n", "motifs", "--config", 'motifs={"dataset": "paper"}')
    assert "resources/downloads/motifs/Structure_Models/109725.xyz" in proc.stdout
    assert "resources/downloads/motifs/Experimental_Data/DanMAX_AlphaKeggin.gr" in proc.stdout
    assert proc.stdout.count("rule motifs_fit:") == 4
