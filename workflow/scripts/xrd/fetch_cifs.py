from pathlib import Path

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.xrd.cod import fetch_cifs, read_cif_list, shard_items

with log_to(snakemake.log[0]) as log:
    p = snakemake.params
    urls = shard_items(read_cif_list(snakemake.input[0]), snakemake.wildcards.shard, p.shard_size)
    # The CIF folder lives outside the shard's outputs so that a crashed shard keeps what it fetched (resume).
    table = fetch_cifs(urls, Path(p.cif_root), p.mirror, p.retries, p.timeout, p.delay, p.backoff)
    write_table(table, snakemake.output[0])
    log.info("shard %s: %s", snakemake.wildcards.shard, table["status"].value_counts().to_dict())
