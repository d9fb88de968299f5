from fingerprintml.download import RemoteFile, fetch
from fingerprintml.logs import log_to

with log_to(snakemake.log[0]):
    p = snakemake.params
    remote = RemoteFile(name="particles/zenodo-7591282.zip", url=p.url, sha256=p.sha256)
    fetch(
        remote,
        snakemake.output[0],
        mirror=p.download["mirror"],
        retries=p.download["retries"],
        timeout=p.download["timeout"],
    )
