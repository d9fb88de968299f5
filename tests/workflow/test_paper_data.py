"""The paper DAG, and the paper data rules run against the shared mirror (directory and loopback HTTP)."""

from __future__ import annotations

import functools
import http.server
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml

from fingerprintml.isotopes.data import label_paths
from fingerprintml.isotopes.evaluate import predicted_paths
from fingerprintml.isotopes.metrics import hierarchical_f1
from tests.conftest import DEMO_TARGETS, run_snakemake

pytestmark = pytest.mark.workflow

NANOTRACER = "xliu-deep/NanoTracer/878dffbd13ecb529a5f971365fce437c1d2994e3/data"
PAPER = 'isotopes={"dataset": "paper"}'
PAPER_RESULTS = "results/isotopes/paper"
PAPER_TRAIN = f"{PAPER_RESULTS}/data/train.csv"


def mirror_config(mirror: str) -> str:
    return f'download={{"mirror": "{mirror}"}}'


def test_paper_dag_dry_run(workspace: Path) -> None:
    proc = run_snakemake(workspace, "-n", "isotopes", "--config", PAPER)
    jobs = proc.stdout
    assert jobs.count("rule download:") == 5
    for rule in ["isotopes_search", "isotopes_nested", "isotopes_evaluate"]:
        assert f"{rule}  " in jobs or f"{rule} " in jobs
    assert f"{PAPER_RESULTS}/model_comparison.csv" in jobs and "results/isotopes/demo/" not in jobs


def _check_paper_tables(workspace: Path) -> None:
    train = pd.read_csv(workspace / PAPER_TRAIN, keep_default_na=False)
    external = pd.read_csv(workspace / PAPER_RESULTS / "data" / "external.csv", keep_default_na=False)
    assert len(train) == 113 and len(external) == 142
    assert train["source"].value_counts().to_dict() == {"Engineered": 84, "Natural": 15, "Incidental": 14}
    assert (external["subset"] == "Troll").sum() == 76


def test_paper_data_from_a_mirror_directory(workspace: Path, mirror: Path) -> None:
    run_snakemake(workspace, "-c1", PAPER_TRAIN, "--config", PAPER, mirror_config(str(mirror)))
    _check_paper_tables(workspace)
    again = run_snakemake(workspace, "-n", PAPER_TRAIN, "--config", PAPER, mirror_config(str(mirror)))
    assert "Nothing to be done" in again.stdout + again.stderr


def test_paper_selective_search_reaches_the_target_score(workspace: Path, mirror: Path) -> None:
    """The headline number: the selective model's leave-one-out hF1 on the NanoTracer data, by the original's
    protocol, beats the original's best (0.822) and reaches the 0.85 target; the chosen model reproduces it."""
    best = f"{PAPER_RESULTS}/search/selective-per_node.json"
    loo = f"{PAPER_RESULTS}/loo/selective-per_node.csv"
    run_snakemake(workspace, "-c2", loo, "--config", PAPER, mirror_config(str(mirror)))
    search = json.loads((workspace / best).read_text())
    assert search["cv"] == "loo" and search["hF1"] >= 0.85
    assert set(search["params"]) == {"MgP", "Engineered", "Engineered:Mag", "Engineered:Mgh"}
    evaluated = pd.read_csv(workspace / loo, keep_default_na=False)
    assert len(evaluated) == 113
    assert hierarchical_f1(label_paths(evaluated), predicted_paths(evaluated)) == pytest.approx(search["hF1"])


def test_paper_results_land_beside_the_demo(demo_copy: Path, mirror: Path, tmp_path: Path) -> None:
    """Issue 17's check: a paper run of the isotopes target after the demo run leaves every demo result as it was,
    writes its own results under results/isotopes/paper/, and afterwards the demo targets (all) have nothing to do.
    The paper run is narrowed to one model and a few search points (numbers through a config file: --config reads
    nested values as strings)."""
    demo = demo_copy / "results" / "isotopes" / "demo"
    before = {path.relative_to(demo): path.read_bytes() for path in sorted(demo.rglob("*")) if path.is_file()}
    assert Path("model_comparison.csv") in before and Path("provenance.yaml") in before
    narrow = tmp_path / "narrow.yaml"
    narrow.write_text(
        "isotopes:\n  datasets:\n    paper:\n      search: {n_calls: 3}\n      nested: {outer_folds: 2, n_calls: 2}\n"
    )
    paper = 'isotopes={"dataset": "paper", "models": ["lcpn"], "learners": ["extra_trees"]}'
    run_snakemake(
        demo_copy, "-c2", "isotopes", "--configfile", str(narrow), "--config", paper, mirror_config(str(mirror))
    )
    after = {path.relative_to(demo): path.read_bytes() for path in sorted(demo.rglob("*")) if path.is_file()}
    assert sorted(after) == sorted(before)
    assert [name for name in before if after[name] != before[name]] == []
    _check_paper_tables(demo_copy)
    results = demo_copy / PAPER_RESULTS
    table = pd.read_csv(results / "model_comparison.csv")
    assert sorted(table["model"] + "-" + table["learner"]) == ["baseline-majority leaf", "lcpn-extra_trees"]
    assert json.loads((results / "search" / "lcpn-extra_trees.json").read_text())["cv"] == "loo"
    assert (results / "figures" / "decision_regions" / "lcpn-extra_trees.png").stat().st_size > 0
    # Issue 22: the trust columns of the external predictions and the tables they add up to.
    external = pd.read_csv(results / "external" / "lcpn-extra_trees.csv", keep_default_na=False)
    assert {"domain_score", "in_domain", "cal_prob_source", "set_source", "backed_off_path"} <= set(external)
    domain = pd.read_csv(results / "domain.csv").set_index("part")
    assert domain.loc["in", "n"] + domain.loc["out", "n"] == domain.loc["all", "n"] == 142
    assert domain.loc["in", "n"] == (external["in_domain"].astype(str) == "True").sum()
    conformal = pd.read_csv(results / "conformal.csv")
    assert list(conformal["level"]) == ["source", "species", "route"]
    assert conformal["coverage"].between(0.87, 0.93).all()
    assert (pd.read_csv(results / "calibration.csv")["n"].to_numpy() == [113, 84, 84]).all()
    assert (results / "figures" / "reliability.png").stat().st_size > 0
    provenance = yaml.safe_load((results / "provenance.yaml").read_text())["config"]["isotopes"]
    assert provenance["dataset"] == "paper" and list(provenance["datasets"]) == ["paper"]
    again = run_snakemake(demo_copy, "-n", *DEMO_TARGETS)
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.fixture
def http_mirror(mirror: Path) -> Iterator[str]:
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(mirror))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_paper_data_from_a_loopback_http_mirror(workspace: Path, http_mirror: str) -> None:
    run_snakemake(workspace, "-c1", PAPER_TRAIN, "--config", PAPER, mirror_config(http_mirror))
    _check_paper_tables(workspace)


def test_corrupt_download_stops_with_a_clear_message_and_is_kept_aside(
    workspace: Path, mirror: Path, tmp_path: Path
) -> None:
    bad_mirror = tmp_path / "bad-mirror"
    shutil.copytree(mirror / NANOTRACER, bad_mirror / NANOTRACER)
    target = bad_mirror / NANOTRACER / "X_train.txt"
    target.chmod(0o644)
    target.write_text(target.read_text().replace("-4.10", "-4.11", 1))
    proc = run_snakemake(
        workspace,
        "-c1",
        PAPER_TRAIN,
        "--config",
        PAPER,
        mirror_config(str(bad_mirror)),
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    downloads = workspace / "resources" / "downloads" / "isotopes"
    assert not (downloads / "X_train.txt").exists()
    assert (downloads / "X_train.txt.sha256-mismatch").exists()
    log = (workspace / "logs" / "download" / "isotopes" / "X_train.txt.log").read_text()
    assert "isotopes/X_train.txt" in log and "sha256" in log and "X_train.txt.sha256-mismatch" in log
    assert "X_train.txt" in output
