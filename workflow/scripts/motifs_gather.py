import pandas as pd

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.motifs.catalogue import read_catalogue

with log_to(snakemake.log[0]) as log:
    catalogue = read_catalogue(snakemake.input.catalogue)
    fits = pd.concat([read_table(path) for path in snakemake.input.shards], ignore_index=True)
    if sorted(fits["cutout"]) != sorted(catalogue["cutout"]):
        raise ValueError("the fitted shards do not cover the catalogue's cut-outs exactly once")
    table = catalogue[["cutout", "n_atoms"]].merge(fits, on="cutout")
    log.info("Rw: min %.4f, median %.4f, max %.4f", table["rw"].min(), table["rw"].median(), table["rw"].max())
    write_table(table, snakemake.output[0], float_format="%.8g")
