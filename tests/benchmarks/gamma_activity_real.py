"""Activities in Bq of the measured `baldr` NaI(Tl) spectra (the workflow's function for measured datasets,
fingerprintml.gamma.measured.benchmark_measured, with the efficiency of the `nai` preset at each seed's distance) and
the ISO 11929 limits of the nuclides not reported.

No measured spectrum in the mirror comes with a known activity: BALDR's seeds.yaml names GADRAS injections of
100 uCi (3.7 MBq), the normalisation of its synthetic seeds, not the activities of the laboratory sources, and the
OpenGamma pages give none. So the table checks what can be checked on real data: the same source measured at
several distances must give the same activity (the geometry factor and the efficiency shape at the source's lines),
and it prints the estimates against 3.7 MBq only as the seeds' nominal value.

Run: PYTHONPATH=src .venv/bin/python tests/benchmarks/gamma_activity_real.py [--mirror ../shared/mirror]
     [--detector nai]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from gamma_identify_real import measured_spectra  # the benchmark beside this one: run as a script

from fingerprintml.gamma.measured import benchmark_measured, spectrum_truth

REPO = Path(__file__).resolve().parents[2]
SEED_NOMINAL_BQ = 100e-6 * 3.7e10  # 100 uCi: GADRAS seed normalisation, not a known source activity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "mirror")
    parser.add_argument("--downloads", type=Path, default=REPO / "resources" / "downloads")
    parser.add_argument("--detector", default="nai", help="efficiency preset (auto: the preset of the kind)")
    args = parser.parse_args()
    spectra, library, settings, measured = measured_spectra("baldr", args.mirror, args.downloads)
    measured = {**measured, "detector": args.detector}
    activities = benchmark_measured(spectra, library, settings, measured)["activities"]
    distance = {s.name: s.distance_cm for s in spectra}
    truth = {s.name: spectrum_truth(s.name, "source_description") for s in spectra}
    own = activities[activities["nuclide"] == activities["file"].map(truth)].assign(
        distance_cm=lambda t: t["file"].map(distance), seed=lambda t: t["file"].str.split("] ").str[1]
    )
    own = own.assign(
        relative_sd=own["activity_bq_sd"] / own["activity_bq"], to_nominal=own["activity_bq"] / SEED_NOMINAL_BQ
    )
    columns = ["seed", "reported", "activity_bq", "activity_bq_sd", "relative_sd", "to_nominal", "line_kev",
               "lines_used", "decision_threshold_bq", "detection_limit_bq"]  # fmt: skip
    with pd.option_context("display.width", 250, "display.max_rows", 200):
        preset = "the preset of each spectrum's kind" if args.detector == "auto" else f"the {args.detector} preset"
        print(f"== baldr, efficiency: {preset} at the seed's distance\n")
        print(own.sort_values(["nuclide", "distance_cm"])[columns].to_string(index=False, float_format="{:.3g}".format))
        spread = (
            own[own["reported"]]
            .groupby("nuclide")["activity_bq"]
            .agg(spectra="count", median="median", spread=lambda a: float(a.max() / a.min()) if len(a) else np.nan)
        )
        print("\nSame source at several distances (reported only): max / min of the estimates\n")
        print(spread.to_string(float_format="{:.3g}".format))
        background = activities[activities["file"].map(truth) == "background"]
        print(f"\nBackground spectrum: {int(background['reported'].sum())} nuclides reported; limits NaN (distance 0)")


if __name__ == "__main__":
    main()
