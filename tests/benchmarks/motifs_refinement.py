"""The paper motif's refinement under each choice of free parameters: Rw and refined values with uncertainties, on
the DanMAX alpha-Keggin PDF (fit range and PDF settings of config.yaml), for the motif of a finished paper run.

    PYTHONPATH=$PWD/src .venv/bin/python tests/benchmarks/motifs_refinement.py [--atoms results/motifs/paper/atoms.csv]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from fingerprintml.motifs.debye import PDFSettings
from fingerprintml.motifs.fitting import FitSettings, RefineSettings, refine_structure
from fingerprintml.motifs.structure import fit_window, read_gr, read_xyz

REPO = Path(__file__).resolve().parents[2]
ML_MOTEX = REPO / ".." / "shared" / "mirror" / "AndySAnker/ML-MotEx/c85a43af194cd6ccb23f28bcb3585a6fb5bff2ec"
VARIANTS = {
    "isotropic zoom": RefineSettings(zoom_axes="isotropic", biso=False, width=()),
    "isotropic zoom, Biso, delta2": RefineSettings(zoom_axes="isotropic", biso=True, width=("delta2",)),
    "abc zooms, Biso, delta2": RefineSettings(zoom_axes="abc", biso=True, width=("delta2",)),
    "abc zooms, Biso, qbroad": RefineSettings(zoom_axes="abc", biso=True, width=("qbroad",)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--atoms", type=Path, default=REPO / "results" / "motifs" / "paper" / "atoms.csv")
    args = parser.parse_args()
    config = yaml.safe_load((REPO / "config.yaml").read_text())["motifs"]
    pdf, fit = PDFSettings.from_config(config["pdf"]), FitSettings.from_config(config["fit"])
    cluster = read_xyz(ML_MOTEX / "Structure_Models" / "109725.xyz")
    r, g = fit_window(*read_gr(ML_MOTEX / "Experimental_Data" / "DanMAX_AlphaKeggin.gr"), fit.rmin, fit.rmax)
    motif = cluster.subset(pd.read_csv(args.atoms)["in_motif"].to_numpy(bool))
    print(f"motif: {len(motif)} atoms {dict(zip(*np.unique(motif.elements, return_counts=True), strict=True))}")
    for name, refine in VARIANTS.items():
        result, _ = refine_structure(motif, r, g, pdf, refine, fit.srfit_starts)
        values = [
            f"{key}={value:.4g}" + ("" if result[f"{key}_std"] is None else f"({result[f'{key}_std']:.2g})")
            for key, value in result.items()
            if key != "rw" and not key.endswith("_std")
        ]
        print(f"{name:<30} Rw {result['rw']:.4f}  " + "  ".join(values))


if __name__ == "__main__":
    main()
