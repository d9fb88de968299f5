"""The report of the README's main command holds every study's figures and tables (of every dataset built), with their
captions."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.conftest import DEMO_TARGETS, run_snakemake

pytestmark = pytest.mark.workflow


def report_contents(workspace: Path) -> tuple[set[str], str]:
    with zipfile.ZipFile(workspace / "results" / "report.zip") as report:
        names = set(report.namelist())
        text = "\n".join(report.read(n).decode("utf-8", "ignore") for n in names if n.endswith((".html", ".js")))
    return names, text


def studies_run(workspace: Path) -> list[str]:
    config = yaml.safe_load((workspace / "config.yaml").read_text())
    return sorted(s for s in config if s != "download" and (workspace / "results" / s).is_dir())


def test_every_study_figure_is_in_the_report(demo_workspace: Path) -> None:
    names, _ = report_contents(demo_workspace)
    studies = studies_run(demo_workspace)
    assert studies
    for study in studies:
        figures = sorted(p for p in (demo_workspace / "results" / study).rglob("*.png") if "figures" in p.parts)
        assert figures, f"{study} made no figures"
        missing = [str(f.relative_to(demo_workspace)) for f in figures if not any(n.endswith(f.name) for n in names)]
        assert not missing, f"{study}: figures not in the report: {missing}"


def test_every_study_has_tables_and_captions_in_the_report(demo_workspace: Path) -> None:
    names, text = report_contents(demo_workspace)
    reported = {Path(n).name for n in names}
    for study in studies_run(demo_workspace):
        tables = {p.name for p in (demo_workspace / "results" / study).rglob("*.csv")}
        assert reported & tables, f"{study}: no table in the report"
        captions = sorted((demo_workspace / "workflow" / "report" / study).glob("*.rst"))
        assert captions, f"{study} has no captions"
        # Six-word runs of each caption's plain text (between its Jinja tags, which the report fills in).
        segments = [part for c in captions for part in re.split(r"\{\{.*?\}\}|\{%.*?%\}", c.read_text(), flags=re.S)]
        openings = [" ".join(part.split()[:6]) for part in segments if len(part.split()) >= 6]
        assert any(opening in " ".join(text.split()) for opening in openings), f"{study}: no caption in the report"


def test_report_run_prints_no_warning(demo_workspace: Path, tmp_path: Path) -> None:
    """Making the report evaluates every job's resources: none may come from input sizes, whose coroutine Snakemake
    never awaits then (job memory comes from settings; the profile sets a constant ``disk_mb`` in place of
    Snakemake's default of twice the input size)."""
    proc = run_snakemake(demo_workspace, "--cores", "1", *DEMO_TARGETS, "--report", str(tmp_path / "report.zip"))
    assert "RuntimeWarning" not in proc.stdout + proc.stderr, proc.stderr[-3000:]
    assert zipfile.is_zipfile(tmp_path / "report.zip")
