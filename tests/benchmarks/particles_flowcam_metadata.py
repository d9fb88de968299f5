"""Pixel-derived metadata against FlowCam's own measurements on the real `flowcam` images (VickoT/FlowCam_Image_
Classifier: 3,000 particles, FlowCam's table `initial_data_preparation.csv`), each image at its run's pixel size
(`Calibration Factor`). Prints per column: Pearson r, Spearman rho, median ratio pixel/FlowCam, median relative
error, and whether the pixel-derived column can stand in for FlowCam's.

Run: .venv/bin/python tests/benchmarks/particles_flowcam_metadata.py [--mirror ../shared/mirror] [--limit N]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from fingerprintml.particles.agreement import flowcam_image_paths, metadata_agreement, pixel_metadata

REPO = Path(__file__).resolve().parents[2]
DATA = "VickoT/FlowCam_Image_Classifier/5d73e30c05686da464b0bb5f0542c6bcc35311b2/Training/data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=REPO.parent / "shared" / "mirror")
    parser.add_argument("--limit", type=int, default=None, help="first N particles only")
    args = parser.parse_args()
    data = args.mirror / DATA
    table = pd.read_csv(data / "initial_data_preparation.csv").head(args.limit)
    start = time.perf_counter()
    paths = flowcam_image_paths(table, data / "classes")
    pixels = pixel_metadata(paths, table["Calibration Factor"].to_numpy(float))
    seconds = time.perf_counter() - start
    agreement = metadata_agreement(table, pixels)
    with pd.option_context("display.width", 160, "display.max_rows", 100, "display.float_format", "{:.3f}".format):
        print(agreement.to_string(index=False))
    trusted = agreement.loc[agreement["trusted"], "column"].tolist()
    print(f"\n{len(table)} particles, {seconds:.1f} s; {len(trusted)} of {len(agreement)} columns trusted: {trusted}")


if __name__ == "__main__":
    main()
