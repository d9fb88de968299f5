"""Mixture identification and weight fractions on the 40 measured dara patterns (CederGroupHub/dara: weighed 2-3
phase precursor mixtures, Panalytical Aeris, Cu K-alpha, each as a 2-min and an 8-min scan) by the whole-pattern fit
of :mod:`fingerprintml.xrd.refine`, with the 7 reference CIFs as the library (all proposed as candidates), and with
``--decoys`` the demo library's 158 phases added.

Run: PYTHONPATH=src python tests/benchmarks/xrd_dara.py [--decoys] [--jobs 2] [--mirror ../shared/mirror]
[--texture march_dollase|none] [--b-factor overall|none]
[--figures DIR] [--out results.json]. Prints one line per pattern and the table of
the issue, computed by the function of the workflow's benchmark step
(:func:`fingerprintml.xrd.benchmark.measured_benchmark`, which writes results/xrd/dara/benchmark.csv with the
network's candidates instead of all phases): for the 16 fully referenced patterns, weighed phases found, patterns
with no phase outside the mixture, weight-fraction MAE (wt%); for the 24 open-library patterns, referenced phases
found and patterns whose missing phase shows as unexplained peaks with no wrong reference reported.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
from pathlib import Path

import numpy as np
import pandas as pd
from pymatgen.core import Composition
from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

from fingerprintml.download import load_registry
from fingerprintml.plotting import save_figure
from fingerprintml.xrd.benchmark import NOTHING_EXPLAINED, measured_benchmark
from fingerprintml.xrd.dara import CIF_PREFIX, PATTERN_PREFIX, declared_files, mixture_truth
from fingerprintml.xrd.fit_figure import whole_pattern_fit
from fingerprintml.xrd.identify import format_peaks
from fingerprintml.xrd.library import build_library
from fingerprintml.xrd.refine import FitPhase, FitSettings, Radiation, fit_pattern
from fingerprintml.xrd.structures import SYMPREC, phase_label, read_cif
from fingerprintml.xrd.xrdml import read_xrdml

REPO = Path(__file__).resolve().parents[2]
LIBRARY: list[tuple[FitPhase, str, str]] = []


def _library(paths: list[str], decoys: bool, radiation: Radiation, two_theta_max: float) -> None:
    structures = [(Path(p).stem, read_cif(p)) for p in paths]
    if decoys:
        structures += build_library(0.03)
    for source, structure in structures:
        conventional = SpacegroupAnalyzer(structure, symprec=SYMPREC).get_conventional_standard_structure()
        label = phase_label(structure, source)
        phase = FitPhase.from_structure(label["source_id"], conventional, radiation, two_theta_max)
        LIBRARY.append((phase, label["formula"], label["spacegroup"]))


def _fit(args: tuple[str, dict, str | None]) -> dict:
    path, settings, figures = args
    scan = read_xrdml(path)
    result = fit_pattern(
        scan.two_theta,
        scan.counts,
        [phase for phase, _, _ in LIBRARY],
        Radiation(scan.kalpha1, scan.kalpha2, scan.kalpha2_ratio or 0.0),
        FitSettings(**settings),
    )
    if figures:
        names = [LIBRARY[p.index][1] for p in result.phases]
        stem = Path(figures) / Path(path).stem
        save_figure(whole_pattern_fit(result, names, Path(path).name), f"{stem}.pdf", f"{stem}.png")
    reported = [
        {
            "formula": LIBRARY[p.index][1],
            "spacegroup": LIBRARY[p.index][2],
            "weight_fraction": p.weight_fraction,
            "sd": p.weight_fraction_sd,
            "evidence": p.evidence,
            "lattice": p.lattice.round(4).tolist(),
            "texture": [p.texture_direction, p.texture_ratio],
            "b_factor": p.b_factor,
        }
        for p in result.phases
    ]
    return {
        "name": Path(path).name,
        "reported": reported,
        "rwp": result.rwp,
        "asymmetry": result.asymmetry,
        "unexplained": result.unexplained,
    }


def _texture(direction: tuple[int, int, int] | None, ratio: float) -> str:
    return "" if direction is None else f", r {ratio:.2f} [{''.join(str(v) for v in direction)}]"


def summarise(rows: list[dict], references: list[str]) -> None:
    """The table of the workflow's benchmark step (:func:`fingerprintml.xrd.benchmark.measured_benchmark`) for these
    fits, every library phase a candidate (no network, no confidence)."""
    identify = pd.DataFrame(
        [
            {
                "query": row["name"],
                "component": number,
                "rank": 1,
                "formula": phase["formula"],
                "spacegroup": phase["spacegroup"],
                "weight_fraction": phase["weight_fraction"],
                "confidence": np.nan,
                "unexplained_peaks": format_peaks(row["unexplained"]),
            }
            for row in rows
            for number, phase in enumerate(row["reported"], start=1)
        ]
    )
    rejects = pd.DataFrame(
        [{"query": row["name"], "reason": NOTHING_EXPLAINED} for row in rows if not row["reported"]],
        columns=["query", "reason"],
    )
    phases = pd.DataFrame(
        [{"formula": formula, "spacegroup": group, "source_id": phase.name} for phase, formula, group in LIBRARY]
    )
    table, _ = measured_benchmark(identify, rejects, phases, references)
    columns = ["set", "scan", "patterns", "phases_found", "phases_weighed", "clean_patterns", "wf_mae_wt"]
    print(table[[*columns, "unexplained_patterns"]].to_string(index=False, float_format="%.1f"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mirror", default=str(REPO.parent / "shared" / "mirror"))
    parser.add_argument("--decoys", action="store_true", help="add the demo library's phases")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--only", default="", help="substring the pattern names must contain")
    parser.add_argument("--referenced", choices=["all", "yes", "no"], default="all", help="fully referenced ones")
    parser.add_argument("--min-evidence", type=float, default=None)
    parser.add_argument("--texture", choices=["march_dollase", "none"], default=None, help="default: FitSettings'")
    parser.add_argument("--b-factor", choices=["overall", "none"], default=None, help="default: FitSettings'")
    parser.add_argument("--figures", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    registry = load_registry(REPO / "resources" / "remote_files.yaml")
    cifs = declared_files(registry, CIF_PREFIX, args.mirror)
    patterns = declared_files(registry, PATTERN_PREFIX, args.mirror)
    patterns = [p for p in patterns if args.only in Path(p).name]
    if args.referenced != "all":
        formulas = {Composition(Path(c).stem.split("-")[0]).reduced_formula for c in cifs}
        keep = args.referenced == "yes"
        patterns = [p for p in patterns if (set(mixture_truth(p).fractions) <= formulas) == keep]
    first = read_xrdml(patterns[0])
    radiation = Radiation(first.kalpha1, first.kalpha2, first.kalpha2_ratio or 0.0)
    settings = {} if args.min_evidence is None else {"min_evidence": args.min_evidence}
    if args.texture:
        settings["texture"] = args.texture
    if args.b_factor:
        settings["b_factor"] = args.b_factor
    if args.figures:
        Path(args.figures).mkdir(parents=True, exist_ok=True)
    _library(cifs, args.decoys, radiation, float(first.two_theta[-1]))
    with multiprocessing.get_context("fork").Pool(args.jobs) as pool:
        rows = []
        for row in pool.imap(_fit, [(p, settings, args.figures) for p in patterns]):
            phases = ", ".join(
                f"{p['formula']} {100 * p['weight_fraction']:.1f}+-{100 * p['sd']:.1f} (F {p['evidence']:.0f}"
                f"{_texture(*p['texture'])}, B {p['b_factor']:.2f})"
                for p in row["reported"]
            )
            peaks = " ".join(f"{t:.2f}:{h:.1f}" for t, h in row["unexplained"][:3])
            print(f"{row['name']}: {phases}; Rwp {row['rwp']:.3f}; unexplained {peaks}", flush=True)
            rows.append(row)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=1))
    summarise(rows, [Path(c).stem for c in cifs])


if __name__ == "__main__":
    main()
