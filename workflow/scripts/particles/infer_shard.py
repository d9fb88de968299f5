import torch

from fingerprintml.io import read_table, write_table
from fingerprintml.logs import log_to
from fingerprintml.particles.inference import InferenceSettings, classify_shard, write_parquet
from fingerprintml.torch_runtime import select_device

with log_to(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p = snakemake.params
    device = select_device(p.device, "particles.device")
    settings = InferenceSettings.from_config(p.inference, per_shard=p.per_shard, device=device)
    table, rejected = classify_shard(
        read_table(snakemake.input.listing), snakemake.wildcards.shard, snakemake.input.model, device, settings
    )
    write_parquet(table, snakemake.output.predictions)
    write_table(rejected, snakemake.output.rejected)
