"""The motifs demo end to end: the planted Keggin motif is recovered, outputs are complete and readable, shards rerun
alone; the paper DAG is built from the declared downloads beside the demo, and the user's own data is a dataset of
its own."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.conftest import run_snakemake

pytestmark = pytest.mark.workflow

RESULTS = Path("results") / "motifs" / "demo"


@pytest.fixture(scope="module")
def demo(demo_workspace: Path) -> Path:
    return demo_workspace


def test_planted_motif_is_recovered(demo: Path) -> None:
    atoms = pd.read_csv(demo / RESULTS / "atoms.csv")
    planted = (
        pd.read_csv(demo / RESULTS / "generated" / "planted.csv").set_index("index").loc[atoms["index"], "planted"]
    )
    found, truth = atoms["in_motif"].to_numpy(bool), planted.to_numpy(bool)
    hits = (found & truth).sum()
    assert hits / found.sum() >= 0.9, "precision"
    assert hits / truth.sum() >= 0.9, "recall"
    w = (atoms["element"] == "W").to_numpy()
    assert (found[w] & truth[w]).sum() / truth[w].sum() >= 0.9
    # The decoys' ACV is positive on average, the planted W's negative.
    assert atoms.loc[w & truth, "acv"].mean() < 0 < atoms.loc[w & ~truth, "acv"].mean()
    # The dataset's recovery record says the same.
    recovery = json.loads((demo / RESULTS / "recovery.json").read_text())
    assert recovery["n_found"] == found.sum() and recovery["n_planted"] == truth.sum() == 52
    assert recovery["precision_all"] == pytest.approx(hits / found.sum())
    assert recovery["recall_all"] == pytest.approx(hits / truth.sum())


def test_model_and_motif_fit_are_good(demo: Path) -> None:
    metrics = json.loads((demo / RESULTS / "model_metrics.json").read_text())
    assert metrics["test"]["r2"] > 0.8
    fit = json.loads((demo / RESULTS / "motif_fit.json").read_text())
    fits = pd.read_csv(demo / RESULTS / "fits.csv")
    assert fit["rw"] <= fits["rw"].min() + 1e-3  # the motif fits at least as well as the best cut-out
    # The data come from a real-space engine with its own Qmax, Qdamp, Biso and Jeong peak width (1/r peaks, delta1),
    # none of them the fit's, and motif.refine.zoom_axes is abc: the ideal Keggin is cubic, so its three axis zooms
    # trade against each other; their volume mean is the planted isotropic zoom, recovered to a few 1e-3.
    assert (fit["zoom_a"] * fit["zoom_b"] * fit["zoom_c"]) ** (1 / 3) == pytest.approx(1.004, abs=3e-3)
    profile = pd.read_csv(demo / RESULTS / "motif_fit.csv")
    np.testing.assert_allclose(profile["gobs"] - profile["gcalc"], profile["difference"], atol=1e-6)


def test_the_bootstrap_is_confident_about_the_planted_motif(demo: Path) -> None:
    atoms = pd.read_csv(demo / RESULTS / "atoms.csv")
    planted = pd.read_csv(demo / RESULTS / "generated" / "planted.csv").set_index("index").loc[atoms["index"]]
    truth = planted["planted"].to_numpy(bool)
    w = (atoms["element"] == "W").to_numpy()
    assert atoms.loc[w & truth, "p_in_motif"].min() >= 0.8
    assert atoms.loc[w & ~truth, "p_in_motif"].max() <= 0.2
    scored = atoms.dropna(subset=["acv"])
    assert (scored["acv_low"] <= scored["acv_high"]).all()
    bootstrap = pd.read_csv(demo / RESULTS / "model" / "bootstrap.csv")
    assert bootstrap["repeat"].nunique() == 5 and len(bootstrap) == 5 * len(atoms)
    html = (demo / RESULTS / "figures" / "structure_acv.html").read_text()
    assert "atom 0 W" in html and len(html) > 1_000_000


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
    lost = [demo / RESULTS / "fits" / "shard_00001.csv", demo / RESULTS / "fits.csv"]
    for path in lost:
        shutil.copy2(path, path.with_suffix(".kept"))
        path.unlink()
    try:
        jobs = run_snakemake(demo, "-n", str(RESULTS / "fits.csv")).stdout
        assert jobs.count("rule motifs_fit:") == 1
        assert "shard=00001" in jobs and "shard=00000" not in jobs
    finally:
        for path in lost:
            shutil.move(path.with_suffix(".kept"), path)


def test_paper_is_planned_beside_the_demo_from_the_declared_downloads(demo: Path) -> None:
    """With the demo built, asking for demo and paper plans the paper alone, under results/motifs/paper/."""
    proc = run_snakemake(demo, "-n", "motifs", "--config", 'motifs={"dataset": ["demo", "paper"]}')
    assert "resources/downloads/motifs/Structure_Models/109725.xyz" in proc.stdout
    assert "resources/downloads/motifs/Experimental_Data/DanMAX_AlphaKeggin.gr" in proc.stdout
    assert proc.stdout.count("rule motifs_fit:") == 4  # 10,000 cut-outs in shards of 2,500
    assert "results/motifs/paper/fits/shard_00003.csv" in proc.stdout
    assert "dataset=demo" not in proc.stdout
    assert "rule motifs_recovery:" not in proc.stdout  # no planted motif in the paper data


def test_user_data_is_the_dataset_user(demo: Path) -> None:
    """motifs.input is built under results/motifs/user/ from the user's files, leaving the demo alone."""
    structure, data = demo / RESULTS / "generated" / "structure.xyz", demo / RESULTS / "generated" / "data.gr"
    override = f'motifs={{"input": {{"structure": "{structure}", "data": "{data}"}}}}'
    proc = run_snakemake(demo, "-n", "motifs", "--config", override)
    assert "results/motifs/user/catalogue.csv" in proc.stdout and "results/motifs/user/provenance.yaml" in proc.stdout
    assert proc.stdout.count("rule motifs_fit:") == 4  # the user block's sizes
    assert "dataset=demo" not in proc.stdout and "rule motifs_generate:" not in proc.stdout
    missing = run_snakemake(demo, "-n", "motifs", "--config", 'motifs={"dataset": "user"}', check=False)
    assert missing.returncode != 0 and "motifs.input" in missing.stdout + missing.stderr


def test_a_new_generated_dataset_is_one_block(demo: Path, tmp_path: Path) -> None:
    config = yaml.safe_load((demo / "config.yaml").read_text())["motifs"]
    block = {**config["datasets"]["demo"], "cutouts": 500, "shard_size": 100}
    override = tmp_path / "noisy.yaml"
    override.write_text(yaml.safe_dump({"motifs": {"dataset": "noisy", "datasets": {"noisy": block}}}))
    proc = run_snakemake(demo, "-n", "motifs", "--configfile", str(override))
    assert proc.stdout.count("rule motifs_fit:") == 5
    assert "results/motifs/noisy/recovery.json" in proc.stdout and "dataset=demo" not in proc.stdout


def test_a_fits_table_from_elsewhere_skips_the_pdf_fits(demo: Path, tmp_path: Path) -> None:
    """motifs.input.fits (cut-out masks and their Rw computed elsewhere) is the dataset user without catalogue or
    PDF fits; without a PDF the motif is not refined."""
    catalogue = pd.read_csv(demo / RESULTS / "catalogue.csv", dtype={"mask": str})
    fits = pd.read_csv(demo / RESULTS / "fits.csv")
    table = tmp_path / "fits_from_elsewhere.csv"
    catalogue[["cutout", "mask"]].merge(fits[["cutout", "rw"]]).to_csv(table, index=False)
    structure = demo / RESULTS / "generated" / "structure.xyz"
    override = f'motifs={{"input": {{"structure": "{structure}", "fits": "{table}"}}}}'
    proc = run_snakemake(demo, "-n", "motifs", "--config", override)
    assert "rule motifs_import_fits:" in proc.stdout and "results/motifs/user/imported/fits.csv" in proc.stdout
    for absent in ("rule motifs_fit:", "rule motifs_catalogue:", "rule motifs_refine:", "rule motifs_generate:"):
        assert absent not in proc.stdout
    assert "rule motifs_bootstrap:" in proc.stdout and "structure_acv.html" in proc.stdout


def test_the_clusterfinder_dataset_plans_from_its_declared_downloads(demo: Path) -> None:
    """The second real system: the metatungstate PDF and the W24O80 model, pinned to ClusterFinder's commit."""
    proc = run_snakemake(demo, "-n", "motifs", "--config", 'motifs={"dataset": "clusterfinder"}')
    assert "resources/downloads/motifs/clusterfinder/Experimental_Data/AMWH2O.gr" in proc.stdout
    assert "resources/downloads/motifs/clusterfinder/Structure_Models/Database/109725.xyz" in proc.stdout
    assert proc.stdout.count("rule motifs_fit:") == 2  # 4,000 cut-outs in shards of 2,000
    assert "results/motifs/clusterfinder/figures/structure_acv.html" in proc.stdout
    assert "rule motifs_recovery:" not in proc.stdout and "dataset=demo" not in proc.stdout
