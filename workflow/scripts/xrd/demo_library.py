from pathlib import Path

from fingerprintml.logs import log_to, progress
from fingerprintml.xrd.library import build_library, write_cif

with log_to(snakemake.log[0]) as log:
    out = Path(snakemake.output[0])
    phases = build_library(snakemake.params.min_spacing)
    for source_id, structure in progress(phases, desc="demo CIFs"):
        write_cif(structure, out / f"{source_id}.cif")
    log.info("%d demo phases written as CIF to %s", len(phases), out)
