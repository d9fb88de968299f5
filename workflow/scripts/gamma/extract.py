from fingerprintml.gamma.paper import fetch_paper_spectra
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    fetch_paper_spectra(
        p.url, p.sha256, snakemake.output.archive, snakemake.output.data, p.mirror, p.retries, p.timeout
    )
