from fingerprintml.download import RemoteFile, fetch
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    settings = snakemake.config["download"]
    fetch(
        RemoteFile(
            snakemake.wildcards.remote, snakemake.params.url, snakemake.params.sha256, snakemake.params.manifest
        ),
        snakemake.output[0],
        mirror=settings["mirror"],
        retries=settings["retries"],
        timeout=settings["timeout"],
    )
