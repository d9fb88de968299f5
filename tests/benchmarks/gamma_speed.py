"""Speed of preprocessing and features: 10,000 simulated .sps spectra read, rebinned to 1 keV up to 1500 keV,
turned into count rates and into AVERAGE (25 and 5 keV) and LINFIT (5 keV) features; target < 60 s on 2 cores.

Run: PYTHONPATH=src .venv/bin/python tests/benchmarks/gamma_speed.py [n_spectra]
Writing the files is not timed; reading them is.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

from fingerprintml.gamma.classify import read_split
from fingerprintml.gamma.features import average, linfit
from fingerprintml.gamma.library import read_lines
from fingerprintml.gamma.plan import detector_block
from fingerprintml.gamma.preprocess import PreprocessSettings, smooth
from fingerprintml.gamma.simulate import build_model, expected_counts, read_cascades
from fingerprintml.gamma.spectrum import Spectrum, write_sps

REPO = Path(__file__).resolve().parents[2]
TARGET_S = 60.0


def main(n_spectra: int) -> None:
    config = yaml.safe_load((REPO / "config.yaml").read_text())["gamma"]
    simulator = config["datasets"]["demo"]["simulator"]
    lines, cascades = read_lines(REPO / config["lines"]), read_cascades(REPO / config["cascades"])
    model = build_model(lines, config["nuclides"], detector_block(config), simulator, cascades)
    background = {**simulator["background"]["activity_bq"], "continuum": 1.0}
    mean = expected_counts(model, {"Cs-137": 5e4, "Co-60": 5e4}, 20.0, 300, background)
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(n_spectra):
            write_sps(Spectrum(rng.poisson(mean), 300, 306, 20.0, model.calibration), folder / f"s{i:05d}_Cs137.sps")
        settings = PreprocessSettings(cap_kev=1500, default_calibration=model.calibration)
        start = time.perf_counter()
        binned, _, rejects = read_split(folder, "query", config["nuclides"], settings)
        read_s = time.perf_counter() - start
        rates = smooth(binned.rates, 11, 2)
        features = [average(rates, 25), average(rates, 5), linfit(rates, 5)]
        total_s = time.perf_counter() - start
    assert len(rejects) == 0 and all(len(f) == n_spectra for f in features)
    print(f"{n_spectra} spectra: read + rebin {read_s:.1f} s, total with smoothing and features {total_s:.1f} s")
    print(
        f"target {TARGET_S:.0f} s for 10,000 spectra; measured / target = {total_s / TARGET_S * 10000 / n_spectra:.3f}"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10000)
