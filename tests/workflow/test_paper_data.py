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

from fingerprintml.isotopes.data import label_paths
from fingerprintml.isotopes.evaluate import predicted_paths
from fingerprintml.isotopes.metrics import hierarchical_f1
from tests.conftest import run_snakemake

pytestmark = pytest.mark.workflow

NANOTRACER = "xliu-deep/NanoTracer/878dffbd13ecb529a5f971365fce437c1d2994e3/data"
PAPER = 'isotopes={"dataset": "paper"}'


def mirror_config(mirror: str) -> str:
    return f'download={{"mirror": "{mirror}"}}'


def test_paper_dag_dry_run(workspace: Path) -> None:
    proc = run_snakemake(workspace, "-n", "isotopes", "--config", PAPER)
    jobs = proc.stdout
    assert jobs.count("rule download:") == 5
    for rule in ["isotopes_search", "isotopes_nested", "isotopes_evaluate"]:
        assert f"{rule}  " in jobs or f"{rule} " in jobs


def _check_paper_tables(workspace: Path) -> None:
    train = pd.read_csv(workspace / "results/isotopes/data/train.csv", keep_default_na=False)
    external = pd.read_csv(workspace / "results/isotopes/data/external.csv", keep_default_na=False)
    assert len(train) == 113 and len(external) == 142
    assert train["source"].value_counts().to_dict() == {"Engineered": 84, "Natural": 15, "Incidental": 14}
    assert (external["subset"] == "Troll").sum() == 76


def test_paper_data_from_a_mirror_directory(workspace: Path, mirror: Path) -> None:
    run_snakemake(workspace, "-c1", "results/isotopes/data/train.csv", "--config", PAPER, mirror_config(str(mirror)))
    _check_paper_tables(workspace)
    again = run_snakemake(
        workspace, "-n", "results/isotopes/data/train.csv", "--config", PAPER, mirror_config(str(mirror))
    )
    assert "Nothing to be done" in again.stdout + again.stderr


def test_paper_selective_search_reaches_the_target_score(workspace: Path, mirror: Path) -> None:
    """The headline number: the selective model's leave-one-out hF1 on the NanoTracer data, by the original's
    protocol, beats the original's best (0.822) and reaches the 0.85 target; the chosen model reproduces it."""
    best = "results/isotopes/search/selective-per_node.json"
    loo = "results/isotopes/loo/selective-per_node.csv"
    run_snakemake(workspace, "-c2", loo, "--config", PAPER, mirror_config(str(mirror)))
    search = json.loads((workspace / best).read_text())
    assert search["cv"] == "loo" and search["hF1"] >= 0.85
    assert set(search["params"]) == {"MgP", "Engineered", "Engineered:Mag", "Engineered:Mgh"}
    evaluated = pd.read_csv(workspace / loo, keep_default_na=False)
    assert len(evaluated) == 113
    assert hierarchical_f1(label_paths(evaluated), predicted_paths(evaluated)) == pytest.approx(search["hF1"])


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
    run_snakemake(workspace, "-c1", "results/isotopes/data/train.csv", "--config", PAPER, mirror_config(http_mirror))
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
        "results/isotopes/data/train.csv",
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
