import torch

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.inference import classify_images, write_parquet
from fingerprintml.particles.model import select_device
from fingerprintml.particles.shards import shard_rows

with log_to(snakemake.log[0]) as log:
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    device = select_device(p.device)
    images = shard_rows(read_table(snakemake.input.listing), snakemake.wildcards.shard, p.per_shard)
    batch_size = p.inference["batch_size"]["cuda" if device.type == "cuda" else "cpu"]
    table, rejected = classify_images(
        snakemake.input.model, images, device, batch_size, p.inference["workers"], p.inference["embeddings"]
    )
    log.info("shard %s: %d images classified, %d skipped", snakemake.wildcards.shard, len(table), len(rejected))
    write_parquet(table, snakemake.output.predictions)
    write_table(rejected, snakemake.output.rejected)
