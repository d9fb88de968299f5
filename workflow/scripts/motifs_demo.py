import numpy as np
import pandas as pd

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.debye import PDFSettings
from fingerprintml.motifs.demo import keggin_with_decoys, simulate_pdf
from fingerprintml.motifs.structure import write_gr, write_xyz
from fingerprintml.seeds import rng_for

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    cluster, planted = keggin_with_decoys(p.demo["decoys"])
    r = np.round(np.arange(0.0, p.demo["rmax"] + 1e-9, p.demo["rstep"]), 6)
    g = simulate_pdf(
        cluster.subset(planted),
        PDFSettings.from_config(p.pdf),
        r,
        p.demo["scale"],
        p.demo["zoom"],
        p.demo["noise"],
        rng_for(p.seed, "motifs", "demo-noise"),
    )
    log.info("demo cluster: %d atoms, planted motif: %d atoms", len(cluster), planted.sum())
    write_xyz(cluster, snakemake.output.structure, comment="alpha-Keggin W12O40 with decoy WO6 octahedra (demo)")
    header = (
        f"demo PDF of the planted Keggin motif: scale {p.demo['scale']}, zoom {p.demo['zoom']}, noise {p.demo['noise']}"
    )
    write_gr(r, g, snakemake.output.data, header)
    write_table(pd.DataFrame({"index": np.arange(len(cluster)), "planted": planted}), snakemake.output.planted)
