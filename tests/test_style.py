"""The code is ruff clean, the rules snakefmt-formatted and the workflow passes snakemake --lint."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_ruff_check() -> None:
    proc = run(str(BIN / "ruff"), "check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format() -> None:
    proc = run(str(BIN / "ruff"), "format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakefmt() -> None:
    proc = run(str(BIN / "snakefmt"), "--check", "Snakefile", "workflow")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_snakemake_lint() -> None:
    proc = run(sys.executable, "-m", "snakemake", "--lint", "--cores", "1")
    assert proc.returncode == 0 and "Lints for" not in proc.stdout + proc.stderr, proc.stdout + proc.stderr
