"""Peak-based identification of the measured gamma datasets `opengamma` (HPGe, Plotly HTML) and `baldr` (NaI(Tl),
PyRIID SampleSet), benchmarked against each spectrum's truth by the function the workflow's `gamma` target uses for
them (fingerprintml.gamma.measured.benchmark_measured, with the datasets' blocks and gamma.identify of config.yaml):
the same tables as results/gamma/<dataset>/benchmark.csv and benchmark_summary.csv.

Per file: the truth, the nuclides reported, whether the labelled one was found, the others that are neither the
label's series nor natural (K-40, U/Th series), the unexplained peaks. Targets (issue #19):
- opengamma single-nuclide spectra: label reported in >= 90 %; at most one other in >= 90 %; natural samples
  attributed to the right series;
- baldr: source reported in >= 85 % (incl. shielded); the background with no source (only natural nuclides).

Run: PYTHONPATH=src .venv/bin/python tests/benchmarks/gamma_identify_real.py [--mirror ../shared/mirror]
     [--datasets opengamma baldr] [--tables DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd
import yaml

from fingerprintml.download import fetch, load_registry
from fingerprintml.gamma.identify import IdentifySettings
from fingerprintml.gamma.library import read_nuclide_library
from fingerprintml.gamma.measured import benchmark_measured
from fingerprintml.gamma.plan import measured_keys
from fingerprintml.gamma.spectrum import SUFFIXES, Spectrum, read_spectra
from fingerprintml.io import write_table

REPO = Path(__file__).resolve().parents[2]


def measured_spectra(
    dataset: str, mirror: Path, downloads: Path
) -> tuple[list[Spectrum], pd.DataFrame, IdentifySettings, dict]:
    """The spectra of the measured ``dataset`` fetched from ``mirror`` into ``downloads`` (unreadable ones stop the
    benchmark), the nuclide library, the identification settings and the dataset's ``measured`` block, as the
    committed config.yaml gives them."""
    gamma = yaml.safe_load((REPO / "config.yaml").read_text())["gamma"]
    registry = load_registry(REPO / "resources" / "remote_files.yaml")
    keys = measured_keys(gamma, dataset, registry)
    files = [fetch(registry[k], downloads / k, mirror=str(mirror)) for k in keys]
    spectra, rejects = read_spectra([f for f in files if f.suffix.lower() in SUFFIXES])
    if len(rejects):
        raise SystemExit(f"{dataset}: unreadable spectra\n{rejects.to_string(index=False)}")
    identify = gamma["identify"]
    library = read_nuclide_library(REPO / identify["library"])
    return spectra, library, IdentifySettings.from_config(identify), gamma["datasets"][dataset]["measured"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "mirror")
    parser.add_argument("--downloads", type=Path, default=REPO / "resources" / "downloads")
    parser.add_argument("--datasets", nargs="+", default=["opengamma", "baldr"])
    parser.add_argument(
        "--tables", type=Path, help="also write <dataset>_benchmark.csv, _summary.csv and _identification.csv here"
    )
    args = parser.parse_args()
    for dataset in args.datasets:
        spectra, library, settings, measured = measured_spectra(dataset, args.mirror, args.downloads)
        tables = benchmark_measured(spectra, library, settings, measured)
        with pd.option_context("display.width", 250, "display.max_rows", 500, "display.max_colwidth", 90):
            print(f"== {dataset}\n{tables['benchmark'].to_string(index=False)}\n")
            print(tables["summary"].to_string(index=False, float_format="{:.2f}".format), "\n")
        if args.tables:
            for name in ("benchmark", "summary", "identification"):
                write_table(tables[name], args.tables / f"{dataset}_{name}.csv")


if __name__ == "__main__":
    main()
