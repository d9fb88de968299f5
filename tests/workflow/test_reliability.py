"""No stale and no silently wrong result (issue 23): the user's files are inputs of the jobs that read them, a
mistyped path stops the planning, provenance records what was read, config errors open with the key and value.

Most probes read Snakemake's plan (dry runs) on a copy of the workflow whose outputs are made to exist, which is
what Snakemake sees after a finished run: they cost seconds, not a demo run.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import run_snakemake

pytestmark = pytest.mark.workflow

# study -> (its config key for the user's files, a small set of such files, the job that reads them).
USER_QUERIES = {
    "gamma": (
        "query_dir",
        {"valid_control.sps": b"Cs-137 spectrum", "other.sps": b"background"},
        "gamma_preprocess_user",
    ),
    "xrd": ("query_dir", {"NaF.xy": b"20.0 1.0\n", "quartz.xy": b"26.6 100.0\n"}, "xrd_identify_user"),
    "particles": ("inference.images", {"GRIP_1/a.png": b"png", "GRIP_1/b.png": b"png"}, "particles_listing"),
}


def write_files(root: Path, files: dict[str, bytes], stamp: float) -> None:
    """Write ``files`` (paths relative to ``root``), each file and the folders made for it dated ``stamp``."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        for made in [path, *path.relative_to(root).parents][:-1]:
            os.utime(root / made, (stamp, stamp))


def finish(workspace: Path, *args: str) -> None:
    """Make every output Snakemake plans for ``args`` exist, dated after everything else: what it sees after a
    finished run (no job runs), so that the next plan reacts to the change a probe makes alone."""
    summary = run_snakemake(workspace, "--summary", *args).stdout
    stamp = time.time() - 60
    for line in summary.splitlines():
        fields = line.split("\t")
        if len(fields) < 6 or fields[0] == "output_file":
            continue
        path = workspace / fields[0]
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        os.utime(path, (stamp, stamp))
    assert "Nothing to be done" in run_snakemake(workspace, "-n", *args).stdout


def planned_rules(workspace: Path, *args: str) -> set[str]:
    """The rules of the jobs a dry run plans."""
    stdout = run_snakemake(workspace, "-n", *args).stdout
    return set(re.findall(r"^(?:localrule|rule|checkpoint) (\w+):", stdout, re.MULTILINE))


def override(workspace: Path, study: str, key: str, value: str) -> str:
    """A config file setting ``<study>.<key>`` (dotted) to ``value``; its path."""
    block: dict = {}
    node = block
    *parents, last = key.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    path = workspace / f"{study}-user.yaml"
    path.write_text(yaml.safe_dump({study: block}))
    return str(path)


@pytest.mark.parametrize("study", sorted(USER_QUERIES))
def test_a_query_file_edited_in_place_reruns_the_jobs_that_read_it(workspace: Path, study: str) -> None:
    key, files, reader = USER_QUERIES[study]
    write_files(workspace, {f"queries/{name}": content for name, content in files.items()}, time.time() - 3600)
    args = [study, "--configfile", override(workspace, study, key, "queries")]
    finish(workspace, *args)
    edited = workspace / "queries" / next(iter(files))
    edited.write_bytes(b"an edited " + edited.read_bytes())
    assert {reader, "provenance"} <= planned_rules(workspace, *args)


@pytest.mark.parametrize(("study", "key"), [("isotopes", "predict.input"), ("gamma", "query_dir")])
def test_a_mistyped_input_path_stops_the_planning_naming_it(workspace: Path, study: str, key: str) -> None:
    """After a finished run on the user's file, a path that does not exist neither reuses the old results (exit 0,
    "Nothing to be done") nor records the wrong path: the plan stops, naming the key and the path."""
    user, files = {
        "isotopes": ("bom_comma.csv", {"bom_comma.csv": b"sample,d18O,d56Fe\nS1,-4.1,0.2\n"}),
        "gamma": ("spectra", {"spectra/a.sps": b"spectrum"}),
    }[study]
    write_files(workspace, files, time.time() - 3600)
    finish(workspace, study, "--configfile", override(workspace, study, key, user))
    proc = run_snakemake(workspace, "-n", study, "--configfile", override(workspace, study, key, "mixd"), check=False)
    assert proc.returncode != 0
    assert f"config: {study}.{key} = 'mixd': no such file or folder" in proc.stdout + proc.stderr


def test_provenance_records_the_user_files_read_with_their_sha256(workspace: Path) -> None:
    files = {"valid_control.sps": b"Cs-137", "notes/background.sps": b"bkg"}
    write_files(workspace, {f"spectra/{name}": content for name, content in files.items()}, time.time())
    configfile = override(workspace, "gamma", "query_dir", "spectra")
    run_snakemake(workspace, "-c1", "results/gamma/demo/provenance.yaml", "--configfile", configfile)
    recorded = yaml.safe_load((workspace / "results/gamma/demo/provenance.yaml").read_text())["user_inputs"]
    assert recorded == {
        "gamma.query_dir": {f"spectra/{name}": hashlib.sha256(content).hexdigest() for name, content in files.items()}
    }


def test_a_download_edited_after_verification_stops_the_planning(workspace: Path, mirror: Path) -> None:
    """The issue's case: a value of the real NanoTracer training table edited after its download."""
    paper = ["--config", 'isotopes={"dataset": "paper"}', f'download={{"mirror": "{mirror}"}}']
    download = workspace / "resources/downloads/isotopes/X_train.txt"
    run_snakemake(workspace, "-c1", str(download.relative_to(workspace)), *paper)
    assert "Nothing to be done" not in run_snakemake(workspace, "-n", "isotopes", *paper).stdout
    original = download.read_text()
    download.write_text(original.replace("-4.57", "94.57", 1))
    assert download.read_text() != original
    proc = run_snakemake(workspace, "-n", "isotopes", *paper, check=False)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert f"{download.relative_to(workspace)}: sha256 is {hashlib.sha256(download.read_bytes()).hexdigest()}" in output
    assert "delete it and the workflow fetches it again" in output


def first_message_line(proc) -> str:
    """The first line of Snakemake's error message (after its 'XError in file ...' line)."""
    lines = (proc.stdout + proc.stderr).splitlines()
    opening = next(i for i, line in enumerate(lines) if re.match(r"\w+Error in file", line))
    return lines[opening + 1]


def test_a_config_typo_opens_the_message_with_the_key_and_value(workspace: Path) -> None:
    proc = run_snakemake(workspace, "-n", "isotopes", "--config", 'isotopes={"datset": "paper"}', check=False)
    assert proc.returncode != 0
    assert first_message_line(proc).startswith("config: isotopes.datset = 'paper': unknown key")
    # The details: the keys isotopes takes, and not the schema's ~160 lines.
    assert "keys of isotopes: dataset, datasets," in proc.stdout + proc.stderr
    assert len((proc.stdout + proc.stderr).splitlines()) < 20


def test_a_number_given_through_config_points_to_configfile(workspace: Path) -> None:
    proc = run_snakemake(workspace, "-n", "isotopes", "--config", 'isotopes={"seed": "3"}', check=False)
    assert proc.returncode != 0
    assert first_message_line(proc) == "config: isotopes.seed = '3': '3' is not of type 'integer'"
    assert "--configfile" in proc.stdout + proc.stderr


def test_cross_field_config_errors_stop_at_planning(workspace: Path, mirror: Path) -> None:
    cap = workspace / "cap.yaml"
    cap.write_text("gamma:\n  preprocess:\n    cap_kev: 1510\n")
    proc = run_snakemake(workspace, "-n", "gamma", "--configfile", str(cap), check=False)
    assert proc.returncode != 0
    assert first_message_line(proc).startswith("config: gamma.preprocess.cap_kev = 1510: not a multiple of")
    # Four real CIFs: too few phases for the six demo queries and for a top-5 accuracy that can be wrong.
    cifs = workspace / "cifs"
    cifs.mkdir()
    for path in sorted(mirror.glob("OpenChemistry/crystals/*/oxides/*.cif"))[:4]:
        (cifs / path.name).write_bytes(path.read_bytes())
    proc = run_snakemake(workspace, "-n", "xrd", "--config", 'xrd={"cif_dir": "cifs"}', check=False)
    assert proc.returncode != 0
    assert first_message_line(proc).startswith("config: xrd.cif_dir = 'cifs': 4 CIF files, fewer than the 6 phases")


def test_a_lost_intermediate_file_is_recreated_only_when_named(workspace: Path) -> None:
    """What the README says of a lost intermediate: while the outputs downstream of it are current, `snakemake
    <target>` plans nothing ('missing', 'no update' in the summary); naming the file plans its one job."""
    finish(workspace, "gamma")
    lost = "results/gamma/demo/preprocessed/test_rates.npy"
    (workspace / lost).unlink()
    assert planned_rules(workspace, "gamma") == set()
    summary = run_snakemake(workspace, "--summary", "gamma").stdout
    assert f"{lost}\t-\tgamma_preprocess\t" in summary and "missing\tno update" in summary
    assert planned_rules(workspace, lost) == {"gamma_preprocess"}
