"""The code is ruff clean, the rules snakefmt-formatted and the workflow passes snakemake --lint: the commands of
``make lint``, read from the Makefile, so the test and the target cannot drift apart."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def lint_commands() -> list[list[str]]:
    """The recipe of the Makefile's ``lint`` target, with ``$(BIN)`` as this interpreter's bin folder."""
    recipe = re.search(r"^lint:.*\n((?:\t.*\n)+)", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "the Makefile has no lint target"
    return [shlex.split(line.strip().replace("$(BIN)", str(BIN))) for line in recipe.group(1).splitlines()]


COMMANDS = lint_commands()


def test_make_lint_runs_every_linter() -> None:
    ran = [" ".join([Path(command[0]).name, *command[1:]]) for command in COMMANDS]
    assert ran == [
        "ruff check .",
        "ruff format --check .",
        "snakefmt --check Snakefile workflow",
        "snakemake --lint --cores 1",
    ]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join([Path(command[0]).name, *command[1:3]]))
def test_lint(command: list[str]) -> None:
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "Lints for" not in output, output[-5000:]
