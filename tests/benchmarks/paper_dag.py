"""How long Snakemake takes to plan the paper-scale DAG of every study, and to find it complete (no-op dry run).

Paper scale: 8,172 COD CIFs (xrd, from the COD list of the mirror), 10,000 cut-outs (motifs), 3,000,000 GRIP
images to classify (particles; stand-ins for the archive and its extracted tables and the inference listing are
written here, the archive itself is not available offline), the NanoTracer data (isotopes) and an XGD package layout
(gamma). Run from the repository root:

    .venv/bin/python tests/benchmarks/paper_dag.py [--images 3000000]

It prints the job count and the wall time of (1) planning everything from scratch and (2) the no-op dry run once
every output exists; the target for (2) is < 10 s.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from fingerprintml.download import sha256_of  # noqa: E402
from tests.conftest import MIRROR, copy_workflow  # noqa: E402

PAPER = """
download: {{mirror: "{mirror}"}}
isotopes: {{dataset: paper}}
motifs: {{dataset: paper}}
xrd: {{dataset: paper}}
gamma: {{dataset: paper}}
particles: {{dataset: paper}}
"""


def snakemake(workspace: Path, *args: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(workspace / "src")}
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "--configfile", "paper.yaml", *args],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return seconds, proc.stdout + proc.stderr


def job_total(output: str) -> int:
    found = re.search(r"^total\s+(\d+)", output, re.MULTILINE)
    return int(found.group(1)) if found else 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=3_000_000, help="unlabelled particle images to plan for")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workspace = copy_workflow(Path(tmp) / "workflow-copy")
        # gamma: the XGD package has no public URL; declare a stand-in archive as a user declares their copy.
        xgd = Path(tmp) / "xgd.zip"
        xgd.write_bytes(b"stand-in")
        with open(workspace / "resources" / "remote_files.yaml", "a") as registry:
            registry.write(f"\ngamma/xgd_spectra.zip:\n  url: file://{xgd}\n  sha256: {sha256_of(xgd)}\n")
        (workspace / "paper.yaml").write_text(PAPER.format(mirror=MIRROR))
        # The COD list decides the xrd shards (a checkpoint): fetch it for real from the mirror.
        snakemake(workspace, "--cores", "1", "results/xrd/paper/cod/urls.txt")
        # The particles shards follow the rows of the inference listing (a checkpoint): stand-ins for the archive
        # (declared in the registry with its own sha256, as the real one would be), its extracted tables and the
        # listing of the GRIP images, dated in that order and after the rule scripts, make it count as done.
        particles = workspace / "results" / "particles" / "paper"
        archive = workspace / "resources" / "downloads" / "particles" / "datasets.zip"
        tables = [particles / "data" / "labelled.csv", particles / "data" / "unlabelled.csv"]
        listing = particles / "inference" / "listing.csv"
        for path in [archive, *tables, listing]:
            path.parent.mkdir(parents=True, exist_ok=True)
        with listing.open("w") as out:
            out.write("path,sample\n")
            for i in range(args.images):
                out.write(f"datasets/test/GRIP_{i // 10000:04d}/{i:07d}.png,GRIP_{i // 10000:04d}\n")
        archive.touch()
        with (workspace / "resources" / "remote_files.yaml").open("a") as registry:
            registry.write(f"particles/datasets.zip:\n  url: file://{archive}\n  sha256: {sha256_of(archive)}\n")
        tables[0].write_text("path,class\n")
        shutil.copyfile(listing, tables[1])
        dated = time.time() - 4
        for age, path in enumerate([archive, *tables, listing]):
            os.utime(path, (dated + age, dated + age))

        plan_seconds, plan = snakemake(workspace, "-n", "--quiet", "rules", "all")
        jobs = job_total(plan)

        # Make every planned output exist with one common time stamp, so that the DAG is complete; downloads are
        # fetched for real (from the mirror; the stand-ins above), since planning checks them against their sha256.
        _, summary = snakemake(workspace, "--summary", "all")
        downloads = [f.split("\t")[0] for f in summary.splitlines() if f.split("\t")[2:3] == ["download"]]
        if downloads:
            snakemake(workspace, "--cores", "1", *downloads)
        stamp = time.time() - 60
        made = 0
        for line in summary.splitlines()[1:]:
            fields = line.split("\t")
            if len(fields) < 2 or fields[0].startswith(("Building", "Using")):
                continue
            path = workspace / fields[0]
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.touch()
                made += 1
        for path in (workspace / "results").rglob("*"):
            os.utime(path, (stamp, stamp))
        for path in (workspace / "resources" / "downloads").rglob("*"):
            os.utime(path, (stamp - 10, stamp - 10))
        noop_seconds, noop = snakemake(workspace, "-n", "all")
        complete = "Nothing to be done" in noop

    print(f"{'paper DAG':<34}{'jobs':>8}{'seconds':>10}")
    print(f"{'plan from scratch':<34}{jobs:>8}{plan_seconds:>10.2f}")
    print(f"{'no-op dry run (all outputs made)':<34}{job_total(noop):>8}{noop_seconds:>10.2f}")
    print(f"outputs created for the no-op: {made}; complete: {complete}")
    print(f"no-op / target (10 s): {noop_seconds / 10:.2f}")


if __name__ == "__main__":
    main()
