from fingerprintml.gamma.paper import extract_spectra
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]) as log:
    counts = extract_spectra(snakemake.input.archive, snakemake.output.data)
    log.info("files per folder: %s", counts)
