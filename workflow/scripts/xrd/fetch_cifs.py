from pathlib import Path

from fingerprintml.io import write_table
from fingerprintml.logs import log_to
from fingerprintml.shards import shard_slice
from fingerprintml.xrd.cod import fetch_cifs, read_cif_list

with log_to(snakemake.log[0]) as log:
    p, shard = snakemake.params, snakemake.wildcards.shard
    urls = read_cif_list(snakemake.input[0])
    # The CIF folder lives outside the shard's outputs so that a crashed shard keeps what it fetched (resume).
    table = fetch_cifs(
        urls[shard_slice(shard, len(urls), p.shard_size)],
        Path(p.cif_root),
        mirror=p.mirror,
        retries=p.retries,
        timeout=p.timeout,
        delay=p.delay,
        backoff=p.backoff,
    )
    write_table(table, snakemake.output[0])
    log.info("shard %s: %s", shard, table["status"].value_counts().to_dict())
